"""A live queue: staff sockets get a "queue-changed" hint when a ticket arrives or tickets are
linked — at most one per queue per window, so a surge does not become a storm. The page's side is
tests/browser/test_live_queue.py."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache

from notifications.services import ALL_QUEUES
from tests import factories
from tests.notifications.test_consumer import connect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_hint_window_left_over():
    cache.delete_many([f"queue-hint:{q}" for q in ("first-line", "billing", ALL_QUEUES)])


async def test_an_arriving_ticket_hints_its_queue_once_per_window(agent, alice):
    socket, connected, _ = await connect(agent)
    assert connected
    await socket.send_json_to({"type": "hello", "last_id": None})
    assert (await socket.receive_json_from(timeout=5))["type"] == "caught-up"

    await database_sync_to_async(factories.open_ticket)(customer=alice)
    assert await socket.receive_json_from(timeout=5) == {"type": "queue-changed", "queue": "first-line"}

    # Three more within the window: no more hints (the browser's delayed re-read covers them) ...
    for _ in range(3):
        await database_sync_to_async(factories.open_ticket)(customer=alice)
    assert await socket.receive_nothing(timeout=0.3)
    # ... but another queue has its own window.
    await database_sync_to_async(factories.open_ticket)(customer=alice, category="billing")
    assert await socket.receive_json_from(timeout=5) == {"type": "queue-changed", "queue": "billing"}
    await socket.disconnect()
