"""Tickets linked to an incident from the bulk bar hint every staff socket once, after commit, as
linking one does (the queue rows' incident marks changed)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache

from incidents.services import incident_link_tickets
from notifications.services import ALL_QUEUES
from tests import factories
from tests.notifications.test_consumer import connect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_hint_window_left_over():
    cache.delete_many([f"queue-hint:{q}" for q in ("first-line", ALL_QUEUES)])


async def test_a_bulk_link_hints_every_queue_once_after_commit(agent, ops, alice):
    def set_up():
        incident = factories.declare_incident(actor=ops, title="Fibre cut", keywords=["zzz-none"]).incident
        tickets = [factories.open_ticket(customer=alice, subject=f"Case {i}") for i in range(3)]
        return incident, [t.pk for t in tickets]

    incident, ids = await database_sync_to_async(set_up)()
    socket, connected, _ = await connect(agent)
    assert connected
    await socket.send_json_to({"type": "hello", "last_id": None})
    caught_up = await socket.receive_json_from(timeout=5)
    while caught_up["type"] != "caught-up":  # the set-up's declaration alert comes first
        caught_up = await socket.receive_json_from(timeout=5)
    cache.delete_many([f"queue-hint:{q}" for q in ("first-line", ALL_QUEUES)])  # the set-up's window

    linked = await database_sync_to_async(incident_link_tickets)(
        incident=incident, ticket_ids=ids, actor=agent
    )
    assert len(linked) == 3
    assert await socket.receive_json_from(timeout=5) == {"type": "queue-changed", "queue": ALL_QUEUES}
    assert await socket.receive_nothing(timeout=0.3), "one hint for all of them"
    await socket.disconnect()
