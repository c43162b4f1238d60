"""Bulk actions from a queue and the API: the ticked open tickets change in one set-based write,
each with its timeline entry; closed ones are left alone; bad input changes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.roles import is_staff_member
from tests import factories
from tests.factories import logged_in
from tickets import services
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.core


def open_tickets(n: int) -> list[Ticket]:
    return [factories.open_ticket(subject=f"Case {i}") for i in range(n)]


def test_an_agent_ticks_tickets_in_the_queue_and_takes_them_all(agent):
    tickets = open_tickets(3)
    done = factories.open_ticket()
    services.ticket_set_status(ticket=done, status=Ticket.Status.CLOSED, actor=agent)
    client = logged_in(agent)
    page = client.get(reverse("tickets:queue")).content.decode()
    assert f'name="t" value="{tickets[0].pk}" form="bulk-form"' in page

    response = client.post(
        reverse("tickets:queue_bulk"),
        {"t": [t.pk for t in tickets] + [done.pk], "action": "assign-me", "next": "/desk/queue/?status=new"},
        follow=True,
    )

    assert response.redirect_chain[0][0] == "/desk/queue/?status=new"
    assert "3 tickets changed." in response.content.decode()
    for ticket in tickets:
        ticket.refresh_from_db()
        assert (ticket.assignee, ticket.status) == (agent, Ticket.Status.OPEN)
        kinds = list(ticket.events.values_list("kind", flat=True))
        assert kinds.count(TicketEvent.Kind.ASSIGNED) == 1 and kinds.count(TicketEvent.Kind.STATUS) == 1
    done.refresh_from_db()
    assert done.assignee is None, "a closed ticket is not touched"


def test_a_bulk_resolve_costs_the_same_queries_for_3_or_60_tickets(agent, django_assert_num_queries):
    few, many = open_tickets(3), open_tickets(60)
    is_staff_member(agent)  # the actor's roles, read once per request in real use
    # Savepoint, lock-and-read, UPDATE, INSERT, release.
    with django_assert_num_queries(5) as captured:
        services.tickets_bulk_set_status(ticket_ids=[t.pk for t in few], status="resolved", actor=agent)
    with django_assert_num_queries(len(captured.captured_queries)):
        assert (
            services.tickets_bulk_set_status(ticket_ids=[t.pk for t in many], status="resolved", actor=agent)
            == 60
        )
    resolved = Ticket.objects.filter(pk__in=[t.pk for t in many])
    assert set(resolved.values_list("status", flat=True)) == {"resolved"}
    assert not resolved.filter(resolved_at__isnull=True).exists()
    assert TicketEvent.objects.filter(ticket__in=resolved, kind="status", data__to="resolved").count() == 60


@pytest.mark.parametrize(
    "form",
    [
        {"action": "closed"},  # nothing ticked
        {"action": "delete", "t": "__ID__"},  # not an action
        {"action": "closed", "t": ["__ID__", "1x"]},  # not an id
        {"action": "open", "t": "__ID__"},  # re-opening is one by one (matching)
        {"action": "macro:999999", "t": "__ID__"},  # no such canned reply
        {"action": "macro:x", "t": "__ID__"},
        {"action": "link:999999", "t": "__ID__"},  # no such incident
        {"action": "link:", "t": "__ID__"},
    ],
)
def test_bad_bulk_input_is_refused_with_a_message_and_changes_nothing(agent, form):
    ticket = factories.open_ticket()
    form = {
        k: (
            [str(ticket.pk) if x == "__ID__" else x for x in v]
            if isinstance(v, list)
            else (str(ticket.pk) if v == "__ID__" else v)
        )
        for k, v in form.items()
    }
    response = logged_in(agent).post(
        reverse("tickets:queue_bulk"), {**form, "next": "https://evil.example/"}, follow=True
    )
    assert response.redirect_chain[0][0] == reverse("tickets:queue"), "never off-site"
    assert 'class="error"' in response.content.decode()
    ticket.refresh_from_db()
    assert (
        ticket.status == Ticket.Status.NEW
        and not ticket.events.exclude(kind__in=["opened", "notification"]).exists()
    )


def test_the_api_assigns_many_to_a_colleague_and_refuses_a_customer_or_too_many(agent, tech, alice):
    tickets = open_tickets(2)
    api = APIClient()
    api.force_authenticate(agent)
    url = "/api/v1/tickets/bulk/"
    body = {"tickets": [t.reference for t in tickets], "action": "assign", "assignee": tech.username}
    assert api.post(url, body, format="json").json() == {"changed": 2}
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("assignee", flat=True)) == {
        tech.pk
    }
    assert api.post(url, body, format="json").json() == {"changed": 0}, "already theirs: nothing changes"

    refused = api.post(url, {**body, "assignee": alice.user.username}, format="json")
    assert refused.status_code == 400 and refused.json()["fields"] == {"assignee": [refused.json()["error"]]}
    too_many = api.post(url, {**body, "tickets": ["SD-1"] * 1001}, format="json")
    assert too_many.status_code == 400
    assert api.post(url, {**body, "tickets": ["SD-²"]}, format="json").status_code == 400
    customer = APIClient()
    customer.force_authenticate(alice.user)
    assert customer.post(url, body, format="json").status_code == 403
