"""The agent's queue and ticket page: fast, complete, and every action lands on the timeline."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

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


def test_the_escalation_form_tells_first_line_how_long_second_line_takes(client, agent):
    ticket = factories.open_ticket()
    client.force_login(agent)
    page = client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()
    assert "wait for second line" in page or "waits for second line" in page


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
