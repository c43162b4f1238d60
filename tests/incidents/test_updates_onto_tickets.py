"""A public incident update can go, as a public reply, onto every linked open ticket at once — each in
its customer's language, in one set-based write — and shows in each ticket's timeline."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.errors import DomainError
from incidents.services import incident_detach_ticket, incident_post_update
from tests import factories
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_set_status

pytestmark = pytest.mark.postgres

UPDATE = {"sv": "Vi har hittat felet.", "fi": "Vika on löydetty.", "en": "We found the fault."}


def email_ticket(catalogue, language: str = "sv") -> Ticket:
    customer = factories.SubscriptionFactory(customer=factories.CustomerFactory(language=language)).customer
    return factories.open_ticket(customer=customer, service=catalogue.email)


@pytest.fixture
def incident(catalogue, ops):
    return lambda: factories.declare_incident(actor=ops, services=[catalogue.email]).incident


def replies(ticket: Ticket) -> list[str]:
    return list(ticket.events.filter(kind=TicketEvent.Kind.REPLY, public=True).values_list("body", flat=True))


def test_a_public_update_reaches_every_linked_open_ticket_in_its_customers_language(catalogue, incident, ops):
    tickets = {lang: email_ticket(catalogue, lang) for lang in ("sv", "fi", "en")}
    incident = incident()
    update = incident_post_update(incident=incident, actor=ops, message=UPDATE, reply_to_tickets=True)
    assert update.replied_tickets == 3
    for lang, ticket in tickets.items():
        assert replies(ticket) == [UPDATE[lang]]
        event = ticket.events.get(kind=TicketEvent.Kind.REPLY)
        assert event.actor == ops
        assert event.data == {"incident": incident.pk, "update": update.pk, "language": lang}


def test_a_language_without_a_text_gets_the_english_one(catalogue, incident, ops):
    ticket = email_ticket(catalogue, "fi")
    incident_post_update(
        incident=incident(),
        actor=ops,
        message={"sv": "Felet hittat", "en": "Found it"},
        reply_to_tickets=True,
    )
    assert replies(ticket) == ["Found it"]


def test_detached_and_closed_tickets_are_left_out(catalogue, incident, ops, tech):
    kept, detached, closed = (email_ticket(catalogue) for _ in range(3))
    incident = incident()
    incident_detach_ticket(incident=incident, ticket=detached, actor=tech)
    ticket_set_status(ticket=closed, status=Ticket.Status.CLOSED, actor=tech)
    update = incident_post_update(incident=incident, actor=ops, message=UPDATE, reply_to_tickets=True)
    assert update.replied_tickets == 1
    assert replies(kept) == [UPDATE["sv"]]
    assert replies(detached) == replies(closed) == []


def test_without_the_option_no_ticket_gets_a_reply(catalogue, incident, ops):
    ticket = email_ticket(catalogue)
    assert incident_post_update(incident=incident(), actor=ops, message=UPDATE).replied_tickets == 0
    assert replies(ticket) == []


def test_an_internal_update_cannot_be_sent_to_customers(catalogue, incident, ops):
    ticket = email_ticket(catalogue)
    with pytest.raises(DomainError) as err:
        incident_post_update(
            incident=incident(), actor=ops, message=UPDATE, public=False, reply_to_tickets=True
        )
    assert err.value.field == "reply_to_tickets"
    assert replies(ticket) == []


@pytest.mark.parametrize("count", [2, 20])
def test_the_replies_are_one_insert_whatever_the_number_of_tickets(catalogue, incident, ops, count):
    for _ in range(count):
        email_ticket(catalogue)
    incident = incident()
    with CaptureQueriesContext(connection) as queries:
        incident_post_update(incident=incident, actor=ops, message=UPDATE, reply_to_tickets=True)
    # (the outbox's INSERT … SELECT reads the timeline; it is not a write to it)
    inserts = [q["sql"] for q in queries if q["sql"].lstrip().startswith("INSERT INTO tickets_ticketevent")]
    assert len(inserts) == 1
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.REPLY).count() == count
    assert len(queries) <= 12  # the same small number for 2 and for 20 tickets


def test_ops_send_an_update_to_the_tickets_through_the_api_and_others_cannot(catalogue, incident, ops, agent):
    ticket = email_ticket(catalogue)
    incident = incident()
    url = f"/api/v1/incidents/{incident.pk}/updates/"
    client = APIClient()
    client.force_authenticate(agent)
    assert client.post(url, {"message": UPDATE, "reply_to_tickets": True}, format="json").status_code == 403
    client.force_authenticate(ops)
    response = client.post(url, {"message": UPDATE, "reply_to_tickets": True}, format="json")
    assert response.status_code == 201
    assert response.json()["replied_tickets"] == 1
    assert replies(ticket) == [UPDATE["sv"]]
    bad = client.post(url, {"message": UPDATE, "public": False, "reply_to_tickets": True}, format="json")
    assert bad.status_code == 400
    assert "reply_to_tickets" in bad.json()["fields"]


def test_ops_send_it_from_the_incident_page_and_the_customer_reads_it_on_their_ticket(
    catalogue, incident, ops, alice
):
    ticket = factories.open_ticket(customer=alice, service=catalogue.email)
    incident = incident()
    ops_client = Client()
    ops_client.force_login(ops)
    page = ops_client.get(f"/ops/incidents/{incident.pk}/").content.decode()
    assert 'name="reply_to_tickets"' in page
    response = ops_client.post(
        f"/ops/incidents/{incident.pk}/updates/",
        {"message_sv": UPDATE["sv"], "message_en": UPDATE["en"], "public": "on", "reply_to_tickets": "on"},
        follow=True,
    )
    assert "1 open ticket" in response.content.decode()
    reply = ticket.events.get(kind=TicketEvent.Kind.REPLY)
    assert reply.body == UPDATE["sv"]
    customer = Client()
    customer.force_login(alice.user)
    page = customer.get(f"/my/tickets/{ticket.reference}/").content.decode()
    timeline_entry = page.split(f'id="event-{reply.pk}"')[1].split("</li>")[0]
    assert UPDATE["sv"] in timeline_entry
