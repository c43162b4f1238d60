"""Matching one ticket costs a fixed, small number of queries, whatever the number of incidents."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents import matching
from tests.factories import declare_incident


def _match(ticket) -> tuple[matching.TicketMatch, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        result = matching.match_ticket(ticket, created=True)
    return result, [q["sql"] for q in ctx.captured_queries]


def test_a_ticket_no_incident_covers_costs_the_lock_and_one_candidate_query(catalogue, ticket_in, ops):
    for n in range(10):
        declare_incident(actor=ops, title=f"TV {n}", services=[catalogue.iptv])
    ticket = ticket_in(service=catalogue.email)
    result, queries = _match(ticket)
    assert result.linked == []
    lock = 1 if connection.vendor == "postgresql" else 0
    assert len(queries) == lock + 1


def test_a_matching_ticket_adds_one_scope_read_and_one_insert(catalogue, ticket_in, ops):
    for n in range(10):
        declare_incident(actor=ops, title=f"Mail {n}", services=[catalogue.email])
    ticket = ticket_in(service=catalogue.iptv)  # matched nothing when opened
    ticket.service = catalogue.email
    result, queries = _match(ticket)
    assert len(result.linked) == 10
    lock = 1 if connection.vendor == "postgresql" else 0
    # candidates, the ten scopes in one query (unless cached), one bulk insert
    assert len(queries) <= lock + 3
