"""Idempotency-Key under a race, on PostgreSQL: concurrent requests with one key create one ticket.
(Kept apart from tests/test_idempotency.py, whose tests also run on the embedded default.)"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.test_idempotency import api, ticket_body
from tickets.models import Ticket

pytestmark = pytest.mark.postgres


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_ticket(agent, alice):
    # Six threads send the same request at the same moment, each on its own connection: the unique
    # (user, key) row makes five of them wait for the first and replay its response.
    threads, results = 6, []
    barrier = threading.Barrier(threads)

    def send():
        try:
            client = api(agent)
            barrier.wait()
            response = client.post(
                "/api/v1/tickets/", ticket_body(alice), format="json", HTTP_IDEMPOTENCY_KEY="race"
            )
            results.append((response.status_code, response.json().get("reference")))
        finally:
            connection.close()

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert Ticket.objects.count() == 1
    assert results == [(201, Ticket.objects.get().reference)] * threads
