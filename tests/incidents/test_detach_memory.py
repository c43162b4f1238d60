"""A ticket a person detached is never re-attached by matching — only by a person."""

from __future__ import annotations

import pytest

from core.errors import DomainError
from incidents.models import IncidentTicketLink
from incidents.services import (
    incident_change_scope,
    incident_detach_ticket,
    incident_link_ticket,
)
from tests.factories import declare_incident
from tickets.models import TicketEvent
from tickets.services import ticket_change_scope, ticket_set_status


@pytest.fixture
def detached(catalogue, ticket_in, ops, agent):
    ticket = ticket_in(service=catalogue.email)
    incident = declare_incident(actor=ops, services=[catalogue.email], areas=[catalogue.stockholm]).incident
    incident_detach_ticket(incident=incident, ticket=ticket, actor=agent, reason="Customer's own router")
    return incident, ticket


def link(incident, ticket):
    return IncidentTicketLink.objects.get(incident=incident, ticket=ticket)


def test_detaching_keeps_the_row_with_who_when_and_why(detached, agent):
    incident, ticket = detached
    row = link(incident, ticket)
    assert row.detached_at is not None
    assert row.detached_by == agent
    assert row.detach_reason == "Customer's own router"
    event = TicketEvent.objects.get(ticket=ticket, kind="incident-detached")
    assert event.actor == agent and event.data["incident"] == incident.pk


def test_widening_the_scope_does_not_re_attach_it(detached, catalogue, ops):
    incident, ticket = detached
    incident_change_scope(incident=incident, actor=ops, services=[catalogue.email, catalogue.iptv], areas=[])
    assert link(incident, ticket).detached_at is not None


def test_a_change_to_the_ticket_does_not_re_attach_it(detached, catalogue, ops):
    incident, ticket = detached
    ticket_set_status(ticket=ticket, status="pending-customer", actor=ops)
    ticket_change_scope(ticket=ticket, actor=ops, area=catalogue.taby)
    assert link(incident, ticket).detached_at is not None


def test_declaring_again_with_the_same_scope_does_not_touch_it(detached, catalogue, ops):
    incident, ticket = detached
    incident_change_scope(incident=incident, actor=ops, services=[catalogue.email])
    assert link(incident, ticket).detached_at is not None
    assert IncidentTicketLink.objects.filter(incident=incident, ticket=ticket).count() == 1


def test_a_person_can_link_it_again(detached, tech):
    incident, ticket = detached
    incident_link_ticket(incident=incident, ticket=ticket, actor=tech)
    row = link(incident, ticket)
    assert row.attached and row.origin == "agent" and row.linked_by == tech


def test_detaching_a_ticket_that_is_not_linked_is_refused(detached, agent):
    incident, ticket = detached
    with pytest.raises(DomainError):
        incident_detach_ticket(incident=incident, ticket=ticket, actor=agent, reason="again")
