"""Previewing a scope counts what it would touch and writes nothing."""

from __future__ import annotations

from incidents.models import Incident, IncidentTicketLink
from incidents.services import incident_preview
from tests.factories import SubscriptionFactory
from tickets.models import TicketEvent


def test_preview_counts_tickets_and_subscriptions_with_samples(catalogue, ticket_in):
    tickets = {ticket_in(service=catalogue.email, area=catalogue.solna).pk for _ in range(3)}
    ticket_in(service=catalogue.email, area=catalogue.hisingen)
    SubscriptionFactory(service=catalogue.email, area=catalogue.taby)
    preview = incident_preview(kind="outage", services=[catalogue.email], areas=[catalogue.stockholm])
    assert preview.ticket_count == 3
    assert {t.pk for t in preview.tickets} == tickets
    # The three ticket customers' subscriptions plus the one in Täby.
    assert preview.subscription_count == 4
    assert len(preview.subscriptions) == 4


def test_preview_samples_at_most_ten(catalogue, ticket_in):
    for _ in range(12):
        ticket_in(service=catalogue.email)
    preview = incident_preview(kind="outage", services=[catalogue.email])
    assert preview.ticket_count == 12
    assert len(preview.tickets) == 10


def test_preview_writes_nothing(catalogue, ticket_in):
    ticket_in(service=catalogue.email)
    events = TicketEvent.objects.count()
    incident_preview(kind="outage", services=[catalogue.email])
    assert not Incident.objects.exists()
    assert not IncidentTicketLink.objects.exists()
    assert TicketEvent.objects.count() == events
