"""Declaring links tickets in set-based SQL: the query count does not grow with the ticket count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import IncidentTicketLink
from tests import factories

pytestmark = pytest.mark.postgres


def _open_many(catalogue, n: int, service) -> None:
    sub = factories.SubscriptionFactory(service=service, area=catalogue.solna, equipment=catalogue.zyxel)
    for _ in range(n):
        factories.open_ticket(customer=sub.customer, subscription=sub)


def test_declaring_over_10_or_100_tickets_takes_the_same_queries(catalogue, ops, django_assert_num_queries):
    _open_many(catalogue, 10, catalogue.email)
    _open_many(catalogue, 100, catalogue.iptv)
    with CaptureQueriesContext(connection) as ten:
        small = factories.declare_incident(actor=ops, services=[catalogue.email])
    assert small.linked_count == 10
    inserts = [
        q["sql"]
        for q in ten.captured_queries
        if q["sql"].startswith('INSERT INTO "incidents_incidentticketlink"')
    ]
    assert len(inserts) == 1 and "ON CONFLICT" in inserts[0]
    with django_assert_num_queries(len(ten.captured_queries)):
        big = factories.declare_incident(actor=ops, title="TV", services=[catalogue.iptv])
    assert big.linked_count == 100
    assert IncidentTicketLink.objects.filter(incident=big.incident).count() == 100
