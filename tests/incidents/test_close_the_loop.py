"""Resolving an incident closes the loop: every linked open ticket gets the resolution message as a
public reply in its customer's language and is resolved — except the ones a person wants kept open
or whose customer wrote after the link, which get the reply, stay open and are flagged."""

from __future__ import annotations

import pytest

from incidents.models import IncidentTicketLink
from incidents.services import (
    incident_close_linked_tickets,
    incident_detach_ticket,
    incident_resolve,
    resolutions_left_open,
)
from notifications.models import Alert
from tests import factories
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_assign, ticket_comment, ticket_set_keep_open, ticket_set_status

pytestmark = pytest.mark.postgres

MESSAGE = {
    "sv": "Felet är åtgärdat. Förlåt!",
    "fi": "Vika on korjattu. Pahoittelemme!",
    "en": "Fixed. Sorry!",
}


def resolution_replies(ticket: Ticket) -> list[TicketEvent]:
    return list(ticket.events.filter(kind=TicketEvent.Kind.REPLY, data__resolution=True))


@pytest.fixture
def outage(catalogue, ops):
    return lambda: factories.declare_incident(actor=ops, services=[catalogue.email]).incident


def customer(language: str):
    return factories.SubscriptionFactory(customer=factories.CustomerFactory(language=language)).customer


def email_ticket(catalogue, language: str = "sv") -> Ticket:
    return factories.open_ticket(customer=customer(language), service=catalogue.email)


def test_each_linked_open_ticket_gets_the_message_in_its_customers_language_and_is_resolved(
    catalogue, outage, ops, django_capture_on_commit_callbacks
):
    tickets = {lang: email_ticket(catalogue, lang) for lang in ("sv", "fi", "en")}
    incident = outage()
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=ops, message=MESSAGE)

    for lang, ticket in tickets.items():
        ticket.refresh_from_db()
        assert ticket.status == Ticket.Status.RESOLVED
        assert ticket.resolved_at is not None
        [reply] = resolution_replies(ticket)
        assert reply.public and reply.body == MESSAGE[lang]
        status = ticket.events.get(kind=TicketEvent.Kind.STATUS, data__incident=incident.pk)
        assert status.data["to"] == "resolved" and status.data["incident_title"] == incident.title
        assert status.public
        assert reply.pk < status.pk  # the customer reads the reply, then the resolution
    assert (
        IncidentTicketLink.objects.filter(incident=incident, resolution_replied_at__isnull=True).count() == 0
    )


def test_without_a_closing_message_the_customer_gets_our_apology_in_their_language(
    catalogue, outage, ops, django_capture_on_commit_callbacks
):
    ticket = email_ticket(catalogue, "sv")
    incident = outage()
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=ops)
    [reply] = resolution_replies(ticket)
    assert reply.body.startswith(f"Felet ”{incident.title}” är åtgärdat. Vi ber om ursäkt")


def test_a_ticket_marked_keep_open_gets_the_reply_but_stays_open_flagged_and_its_agent_is_alerted(
    catalogue, outage, ops, agent, django_capture_on_commit_callbacks
):
    kept = email_ticket(catalogue)
    ticket_assign(ticket=kept, assignee=agent, actor=agent)
    ticket_set_keep_open(ticket=kept, keep_open=True, actor=agent)
    closed = email_ticket(catalogue)
    incident = outage()
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=ops, message=MESSAGE)

    kept.refresh_from_db()
    closed.refresh_from_db()
    assert len(resolution_replies(kept)) == 1
    assert kept.is_open and kept.needs_attention
    assert closed.status == Ticket.Status.RESOLVED and not closed.needs_attention
    alert = Alert.objects.get(recipient=agent, ticket=kept, kind=Alert.Kind.INCIDENT_RESOLVED)
    assert alert.payload["ticket"] == {"id": kept.pk, "reference": kept.reference, "kept_open": True}
    # Every agent still hears that the incident was resolved.
    assert Alert.objects.filter(incident=incident, kind="incident-resolved", recipient=None).count() == 1


def test_a_ticket_whose_customer_wrote_after_the_link_stays_open(
    catalogue, outage, ops, django_capture_on_commit_callbacks
):
    quiet, talking = email_ticket(catalogue), email_ticket(catalogue)
    incident = outage()
    ticket_comment(ticket=talking, actor=talking.customer.user, body="Also my TV is broken", public=True)
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=ops, message=MESSAGE)
    quiet.refresh_from_db()
    talking.refresh_from_db()
    assert quiet.status == Ticket.Status.RESOLVED
    assert talking.is_open and talking.needs_attention
    assert len(resolution_replies(talking)) == 1


def test_a_message_written_before_the_link_does_not_keep_the_ticket_open(
    catalogue, ops, django_capture_on_commit_callbacks
):
    ticket = email_ticket(catalogue)
    ticket_comment(ticket=ticket, actor=None, body="Still nothing", public=True)
    incident = factories.declare_incident(actor=ops, services=[catalogue.email]).incident
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=ops, message=MESSAGE)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED


def test_detached_and_already_closed_tickets_get_nothing(
    catalogue, outage, ops, tech, django_capture_on_commit_callbacks
):
    detached, done = email_ticket(catalogue), email_ticket(catalogue)
    incident = outage()
    incident_detach_ticket(incident=incident, ticket=detached, actor=tech)
    ticket_set_status(ticket=done, status=Ticket.Status.CLOSED, actor=tech)
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=ops, message=MESSAGE)
    for ticket in (detached, done):
        assert resolution_replies(ticket) == []
    detached.refresh_from_db()
    assert detached.is_open


def test_running_it_again_replies_to_nobody_twice(catalogue, outage, ops, django_capture_on_commit_callbacks):
    tickets = [email_ticket(catalogue) for _ in range(5)]
    incident = outage()
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=ops, message=MESSAGE)
    again = incident_close_linked_tickets(incident_id=incident.pk, chunk=2)
    assert again.replied == 0
    assert [len(resolution_replies(t)) for t in tickets] == [1] * 5


def test_it_works_in_chunks_and_a_kept_open_ticket_is_not_replied_to_again(catalogue, outage, ops, agent):
    tickets = [email_ticket(catalogue) for _ in range(7)]
    ticket_set_keep_open(ticket=tickets[3], keep_open=True, actor=agent)
    incident = outage()
    incident_resolve(incident=incident, actor=ops, message=MESSAGE)  # on-commit task not run here
    done = incident_close_linked_tickets(incident_id=incident.pk, chunk=3)
    assert (done.replied, done.resolved, done.kept_open) == (7, 6, 1)
    # The kept-open ticket is still open and linked, but it has had its reply.
    assert incident_close_linked_tickets(incident_id=incident.pk, chunk=3).replied == 0
    assert [len(resolution_replies(t)) for t in tickets] == [1] * 7


def test_an_active_incident_closes_nothing(catalogue, outage):
    ticket = email_ticket(catalogue)
    incident = outage()
    assert incident_close_linked_tickets(incident_id=incident.pk).replied == 0
    assert resolution_replies(ticket) == []


def test_the_sweep_finds_resolutions_whose_tickets_were_not_all_reached(catalogue, outage, ops):
    from datetime import timedelta

    from django.utils import timezone

    email_ticket(catalogue)
    incident = outage()
    incident_resolve(incident=incident, actor=ops)  # its on-commit task never ran (broker down, say)
    assert resolutions_left_open() == []  # too fresh: its own task may still be on the way
    later = timezone.now() + timedelta(minutes=1)
    assert resolutions_left_open(now=later) == [incident.pk]
    incident_close_linked_tickets(incident_id=incident.pk)
    assert resolutions_left_open(now=later) == []
