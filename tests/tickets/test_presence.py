"""Presence on a ticket over /ws/tickets/<reference>/presence/: staff see who else has it open and
who is typing; customers, strangers and unknown tickets are refused."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from supportdesk.asgi import application
from tests import factories
from tests.conftest import make_user
from tickets.consumers import CLOSE_FORBIDDEN

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _cookie(user) -> bytes:
    return f"{settings.SESSION_COOKIE_NAME}={factories.login_session(user)}".encode()


async def join(user, reference: str):
    headers = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]
    if user is not None:
        headers.append((b"cookie", await _cookie(user)))
    socket = WebsocketCommunicator(application, f"/ws/tickets/{reference}/presence/", headers=headers)
    connected, code = await socket.connect(timeout=5)
    return socket, connected, code


@pytest.fixture
def ticket(alice):
    return factories.open_ticket(customer=alice)


async def test_two_agents_on_one_ticket_see_each_other_and_who_is_typing(ticket, agent):
    bertil = await database_sync_to_async(make_user)("bertil", "agent", first_name="Bertil", last_name="Berg")
    anna_socket, connected, _ = await join(agent, ticket.reference)
    assert connected
    assert await anna_socket.receive_json_from(timeout=5) == {"type": "welcome", "you": agent.pk}

    bertil_socket, connected, _ = await join(bertil, ticket.reference)
    assert connected
    assert (await bertil_socket.receive_json_from(timeout=5))["type"] == "welcome"
    # Anna hears Bertil arrive; Bertil, the newcomer, is told Anna was already there.
    bertil_seen = {"type": "presence", "user": {"id": bertil.pk, "name": "Bertil Berg"}, "state": "viewing"}
    assert await anna_socket.receive_json_from(timeout=5) == bertil_seen
    anna_seen = await bertil_socket.receive_json_from(timeout=5)
    assert (anna_seen["user"]["id"], anna_seen["state"]) == (agent.pk, "viewing")

    await bertil_socket.send_json_to({"type": "typing", "typing": True})
    assert (await anna_socket.receive_json_from(timeout=5))["state"] == "typing"
    await bertil_socket.send_json_to({"type": "typing", "typing": True})  # no change: nothing sent
    await bertil_socket.send_json_to({"type": "typing", "typing": False})
    assert (await anna_socket.receive_json_from(timeout=5))["state"] == "viewing"

    await bertil_socket.disconnect()
    assert (await anna_socket.receive_json_from(timeout=5))["state"] == "left"
    assert await anna_socket.receive_nothing(timeout=0.2)
    await anna_socket.disconnect()


async def test_agents_on_another_ticket_are_not_told(ticket, agent, tech, alice):
    other = await database_sync_to_async(factories.open_ticket)(customer=alice)
    anna_socket, _, _ = await join(agent, ticket.reference)
    await anna_socket.receive_json_from(timeout=5)
    tech_socket, connected, _ = await join(tech, other.reference)
    assert connected
    assert await anna_socket.receive_nothing(timeout=0.3)
    await tech_socket.disconnect()
    await anna_socket.disconnect()


async def test_customers_strangers_and_unknown_tickets_are_refused(ticket, agent, alice, outsider):
    customer_user = await database_sync_to_async(lambda: alice.user)()
    for user, reference in (
        (None, ticket.reference),
        (customer_user, ticket.reference),
        (outsider, ticket.reference),
        (agent, "SD-999999"),
        (agent, "nonsense"),
    ):
        _, connected, code = await join(user, reference)
        assert (connected, code) == (False, CLOSE_FORBIDDEN), (user, reference)
