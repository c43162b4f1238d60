"""The agent's queue and ticket page: fast, complete, and every action lands on the timeline."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.core]


def _queue_queries(client, django_assert_max_num_queries, n):
    # Session, user, groups (roles) + one query for the page; measured, then pinned below.
    with django_assert_max_num_queries(8) as captured:
        response = client.get(reverse("tickets:queue"))
    assert response.status_code == 200
    return len(captured.captured_queries), response


def test_the_queue_costs_the_same_queries_for_3_or_60_tickets(client, agent, django_assert_max_num_queries):
    client.force_login(agent)
    for _ in range(3):
        factories.open_ticket()
    few, _ = _queue_queries(client, django_assert_max_num_queries, 3)
    for _ in range(57):
        factories.open_ticket()
    many, response = _queue_queries(client, django_assert_max_num_queries, 60)
    assert few == many
    assert response.content.decode().count('href="/desk/tickets/SD-') == 2 * 50  # one page, two links a row


def test_the_queue_pages_back_by_keyset(client, agent):
    client.force_login(agent)
    tickets = [factories.open_ticket() for _ in range(55)]

    def shown(url):
        return set(re.findall(r'href="/desk/tickets/(SD-\d+)/"', client.get(url).content.decode()))

    first = shown(reverse("tickets:queue"))
    assert first == {t.reference for t in tickets[5:]}  # the newest 50
    second = shown(reverse("tickets:queue") + f"?queue=first-line&before={tickets[5].pk}")
    assert second == {t.reference for t in tickets[:5]}


def test_billing_tickets_wait_in_the_billing_queue_not_first_line(client, agent):
    client.force_login(agent)
    bill = factories.open_ticket(category="billing", subject="Invoice question")
    assert bill.reference not in client.get(reverse("tickets:queue")).content.decode()
    assert bill.reference in client.get(reverse("tickets:queue") + "?queue=billing").content.decode()


def test_agent_replies_and_the_customer_sees_the_reply_but_not_the_note(client, agent, alice):
    ticket = factories.open_ticket(customer=alice)
    client.force_login(agent)
    client.post(
        reverse("tickets:comment", args=[ticket.reference]), {"body": "We are on it.", "public": "on"}
    )
    client.post(reverse("tickets:comment", args=[ticket.reference]), {"body": "Customer sounds upset"})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN  # a public reply opens a new ticket
    client.force_login(alice.user)
    page = client.get(reverse("tickets:my_ticket", args=[ticket.reference])).content.decode()
    assert "We are on it." in page
    assert "Customer sounds upset" not in page


def test_escalation_needs_a_hand_over_and_moves_the_ticket_to_second_line(client, agent, tech):
    ticket = factories.open_ticket()
    client.force_login(agent)
    client.post(reverse("tickets:escalate", args=[ticket.reference]), {"summary": "No sync", "tried": ""})
    ticket.refresh_from_db()
    assert ticket.queue == "first-line"
    client.post(
        reverse("tickets:escalate", args=[ticket.reference]),
        {
            "summary": "No DSL sync",
            "tried": "Restarted modem, swapped cable",
            "customer_impact": "Works from home",
        },
    )
    ticket.refresh_from_db()
    assert (ticket.queue, ticket.status) == ("second-line", "escalated")
    handover = ticket.events.get(kind=TicketEvent.Kind.ESCALATED)
    assert handover.data["tried"] == "Restarted modem, swapped cable"
    client.force_login(tech)
    page = client.get(reverse("tickets:escalations")).content.decode()
    assert ticket.reference in page


def _escalated(agent, *, hours_to_resolve: float | None = None, resolved_days_ago: float = 0) -> Ticket:
    """A ticket escalated to second line; resolved ``hours_to_resolve`` after it was opened, if given."""
    from tickets.services import ticket_escalate, ticket_set_status

    ticket = factories.open_ticket()
    ticket_escalate(
        ticket=ticket, actor=agent, summary="Line down", tried="Restarted", customer_impact="Offline"
    )
    if hours_to_resolve is not None:
        ticket_set_status(ticket=ticket, status=Ticket.Status.RESOLVED, actor=agent)
        resolved = timezone.now() - timedelta(days=resolved_days_ago)
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=resolved - timedelta(hours=hours_to_resolve), resolved_at=resolved
        )
    return ticket


def test_the_escalation_form_tells_first_line_how_long_second_line_takes(client, agent):
    from tickets.selectors import second_line_wait

    for _ in range(3):
        _escalated(agent)  # waiting now
    for hours in (2, 5.5, 30):
        _escalated(agent, hours_to_resolve=hours, resolved_days_ago=1)
    _escalated(agent, hours_to_resolve=400, resolved_days_ago=20)  # too long ago to count
    resolved_in_first_line = factories.open_ticket()
    Ticket.objects.filter(pk=resolved_in_first_line.pk).update(
        status="resolved", created_at=timezone.now() - timedelta(hours=90), resolved_at=timezone.now()
    )

    assert second_line_wait() == {"open": 3, "median_hours": 5.5, "sample": 3}

    ticket = factories.open_ticket()
    client.force_login(agent)
    page = client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()
    assert "3 tickets wait for second line." in page
    assert "Lately they took a median of 5.5 hours to resolve." in page


def test_with_nothing_resolved_lately_the_wait_gives_no_median(client, agent):
    from tickets.selectors import second_line_wait

    _escalated(agent)
    assert second_line_wait() == {"open": 1, "median_hours": None, "sample": 0}
    client.force_login(agent)
    page = client.get(reverse("tickets:detail", args=[factories.open_ticket().reference])).content.decode()
    assert "1 ticket waits for second line." in page
    assert "median" not in page


def test_claiming_assigns_and_releasing_gives_back(client, tech):
    ticket = factories.open_ticket()
    client.force_login(tech)
    client.post(reverse("tickets:claim", args=[ticket.reference]))
    ticket.refresh_from_db()
    assert ticket.assignee == tech
    client.post(reverse("tickets:claim", args=[ticket.reference]), {"release": "1"})
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_lookup_finds_a_caller_by_phone_in_national_form(client, agent):
    sub = factories.SubscriptionFactory()
    sub.customer.phones.update(number="+46701234567")
    client.force_login(agent)
    page = client.get(reverse("tickets:lookup") + "?q=070-123 45 67").content.decode()
    assert sub.customer.name in page
    assert sub.customer.number in page


def test_a_scope_correction_is_recorded_as_data_and_shown_in_the_readers_language(client, agent):
    ticket = factories.open_ticket()
    email = factories.ServiceFactory(code="email", name="E-mail")
    client.force_login(agent)
    client.patch(
        f"/api/v1/tickets/{ticket.reference}/", {"service": "email"}, content_type="application/json"
    )
    event = ticket.events.get(kind=TicketEvent.Kind.NOTE)
    assert (event.body, event.data) == ("", {"changed": ["service"]})
    assert Ticket.objects.get(pk=ticket.pk).service == email
    page = client.get(reverse("tickets:detail", args=[ticket.reference]), HTTP_ACCEPT_LANGUAGE="sv")
    assert "Ändrade: tjänst" in page.content.decode()
