"""Reply with a canned reply to many tickets at once, from the queue's bulk bar or the API: each
ticket gets the macro filled for its own customer in their language, as a public reply, and each
customer's e-mail is queued in one statement, once — a double submit or a retry sends nothing twice.
The mail itself (threading, language) is tests/notifications/test_bulk_reply_mail.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.roles import is_staff_member
from notifications.models import Notification
from tests import factories
from tests.factories import logged_in
from tickets import macros, services
from tickets.models import Macro, Ticket, TicketEvent

pytestmark = pytest.mark.core

TEXTS = {
    "sv": "Hej {customer_name}! Felet ({incident_title}) väntas vara åtgärdat {incident_eta}. /{agent_name}, {reference}",
    "fi": "Hei {customer_name}! Vika ({incident_title}) korjataan {incident_eta}. /{agent_name}, {reference}",
    "en": "Hello {customer_name}, the fault ({incident_title}) should be fixed {incident_eta}. /{agent_name}, {reference}",
}
ETA = datetime(2026, 12, 1, 16, 30, tzinfo=ZoneInfo("Europe/Stockholm"))


@pytest.fixture
def outage_tickets(alice, bob, ops):
    """Alice (sv) and Bob (fi) each with a new ticket explained by a fibre cut with an ETA, and an
    English customer's ticket that no incident explains."""
    subscription = alice.subscriptions.get()
    factories.declare_incident(
        actor=ops,
        title="Fibre cut in Solna",
        services=[subscription.service],
        areas=[subscription.area, bob.subscriptions.get().area],
        eta=ETA,
    )
    english = factories.SubscriptionFactory(customer__language="en", customer__name="Eve English").customer
    return [
        factories.open_ticket(customer=alice, subscription=subscription),
        factories.open_ticket(customer=bob),
        factories.open_ticket(customer=english, service=factories.ServiceFactory(code="iptv")),
    ]


def reply_of(ticket: Ticket) -> TicketEvent:
    return ticket.events.get(kind=TicketEvent.Kind.REPLY)


def test_an_agent_replies_to_ticked_tickets_with_a_canned_reply_in_each_customers_language(
    outage_tickets, agent, django_capture_on_commit_callbacks
):
    agent.first_name, agent.last_name = "Anna", "Andersson"
    agent.save()
    macro = Macro.objects.create(name="Outage known", texts=TEXTS)
    done = factories.open_ticket()
    services.ticket_set_status(ticket=done, status=Ticket.Status.CLOSED, actor=agent)
    client = logged_in(agent)
    page = client.get(reverse("tickets:queue")).content.decode()
    assert f'<option value="macro:{macro.pk}">Outage known</option>' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("tickets:queue_bulk"),
            {
                "t": [t.pk for t in outage_tickets] + [done.pk],
                "action": f"macro:{macro.pk}",
                "form_token": uuid.uuid4().hex,
            },
            follow=True,
        )

    assert "3 replies sent." in response.content.decode()
    alice_t, bob_t, eve_t = outage_tickets
    assert reply_of(alice_t).body == (
        f"Hej Alice Andersson! Felet (Fibre cut in Solna) väntas vara åtgärdat 1 december 16:30 CET. "
        f"/Anna Andersson, {alice_t.reference}"
    )
    assert reply_of(bob_t).body.startswith("Hei Bob Berg! Vika (Fibre cut in Solna) korjataan 1 ")
    assert "17:30 EET" in reply_of(bob_t).body, "on the Finnish customer's clock"
    assert reply_of(eve_t).body.startswith(
        "Hello Eve English, the fault () should be fixed as soon as we can"
    )
    for ticket in outage_tickets:
        # The very text the reply box fills in for this ticket, sent as the agent's public reply.
        reply = reply_of(ticket)
        assert (reply.public, reply.actor) == (True, agent)
        assert reply.body == macros.render(macro, Ticket.objects.get(pk=ticket.pk), agent=agent)
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.OPEN, "a staff reply opens a new ticket"
        assert ticket.events.get(kind=TicketEvent.Kind.STATUS).data == {"from": "new", "to": "open"}
        mail = Notification.objects.get(ticket=ticket, kind=Notification.Kind.TICKET_REPLY)
        assert mail.key == f"ticket-reply.e{reply.pk}.c{ticket.customer_id}"
        assert (mail.language, mail.to_email) == (ticket.customer.language, ticket.customer.email)
    assert not done.events.filter(kind=TicketEvent.Kind.REPLY).exists(), "a closed ticket is left alone"


def test_a_double_submit_of_the_bulk_bar_replies_once(outage_tickets, agent):
    macro = Macro.objects.create(name="Outage known", texts=TEXTS)
    form = {"t": [t.pk for t in outage_tickets], "action": f"macro:{macro.pk}", "form_token": "once-1"}
    client = logged_in(agent)
    first = client.post(reverse("tickets:queue_bulk"), form)
    again = client.post(reverse("tickets:queue_bulk"), form)
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.REPLY).count() == 3
    assert Notification.objects.filter(kind=Notification.Kind.TICKET_REPLY).count() == 3


def test_a_customer_without_an_address_gets_the_reply_on_the_ticket_and_no_mail(agent):
    mute = factories.SubscriptionFactory(customer__email="").customer
    ticket = factories.open_ticket(customer=mute)
    macro = Macro.objects.create(name="Hello", texts={"en": "Hello {customer_name}."})
    assert services.tickets_bulk_reply(ticket_ids=[ticket.pk], macro=macro, actor=agent) == 1
    assert reply_of(ticket).body == f"Hello {mute.name}."
    assert not Notification.objects.filter(ticket=ticket).exclude(kind="ticket-confirmation").exists()


def test_a_bulk_reply_costs_the_same_queries_for_3_or_60_tickets(agent, ops, django_assert_num_queries):
    factories.declare_incident(actor=ops, title="Everything", eta=ETA)  # links every open ticket
    few = [factories.open_ticket(subject=f"Case {i}") for i in range(3)]
    many = [factories.open_ticket(subject=f"Case {i}") for i in range(60)]
    macro = Macro.objects.create(name="Outage known", texts=TEXTS)
    is_staff_member(agent)  # the actor's roles, read once per request in real use
    # Savepoint, lock-and-read with the customers, the ETA's and the title's incidents (one query
    # each, for all the tickets), INSERT of the entries, UPDATE of the tickets, INSERT of the
    # e-mails, release.
    with django_assert_num_queries(8):
        assert services.tickets_bulk_reply(ticket_ids=[t.pk for t in few], macro=macro, actor=agent) == 3
    with django_assert_num_queries(8):
        assert services.tickets_bulk_reply(ticket_ids=[t.pk for t in many], macro=macro, actor=agent) == 60
    replies = TicketEvent.objects.filter(ticket__in=many, kind=TicketEvent.Kind.REPLY)
    assert replies.count() == 60 and all(
        "Everything" in body for body in replies.values_list("body", flat=True)
    )
    assert Notification.objects.filter(ticket__in=many, kind=Notification.Kind.TICKET_REPLY).count() == 60


def test_the_api_replies_with_a_macro_and_a_retry_with_the_same_key_sends_nothing_twice(
    outage_tickets, agent, alice
):
    macro = Macro.objects.create(name="Outage known", texts=TEXTS)
    api = APIClient()
    api.force_authenticate(agent)
    url = "/api/v1/tickets/bulk/"
    body = {"tickets": [t.reference for t in outage_tickets], "action": "macro", "macro": macro.pk}
    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="bulk-reply-1")
    assert first.json() == {"changed": 3}
    retry = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="bulk-reply-1")
    assert retry.json() == {"changed": 3} and retry["Idempotent-Replayed"] == "true"
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.REPLY).count() == 3
    assert Notification.objects.filter(kind=Notification.Kind.TICKET_REPLY).count() == 3

    missing = api.post(url, {**body, "macro": None}, format="json")
    assert missing.status_code == 400
    no_macro = {k: v for k, v in body.items() if k != "macro"}
    assert api.post(url, no_macro, format="json").json()["fields"] == {"macro": ["This field is required."]}
    Macro.objects.filter(pk=macro.pk).update(active=False)
    assert api.post(url, body, format="json").status_code == 400, "a retired canned reply is not sent"
    customer = APIClient()
    customer.force_authenticate(alice.user)
    assert customer.post(url, body, format="json").status_code == 403
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.REPLY).count() == 3
