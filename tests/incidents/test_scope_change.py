"""Changing an incident's scope: widening links more, narrowing detaches auto links, set-based."""

from __future__ import annotations

import pytest

from core.errors import DomainError
from incidents.matching import REASON_SCOPE_NARROWED
from incidents.models import IncidentTicketLink
from incidents.services import incident_change_scope, incident_link_ticket, incident_resolve
from tests.factories import declare_incident
from tickets.services import ticket_set_status


def attached(incident) -> set[int]:
    return set(
        IncidentTicketLink.objects.filter(incident=incident, detached_at__isnull=True).values_list(
            "ticket_id", flat=True
        )
    )


def test_widening_links_the_newly_covered_tickets(catalogue, ticket_in, ops):
    solna = ticket_in(area=catalogue.solna)
    hisingen = ticket_in(area=catalogue.hisingen)
    incident = declare_incident(actor=ops, areas=[catalogue.stockholm]).incident
    result = incident_change_scope(
        incident=incident, actor=ops, areas=[catalogue.stockholm, catalogue.goteborg]
    )
    assert attached(incident) == {solna.pk, hisingen.pk}
    assert result.linked_count == 1


def test_narrowing_detaches_auto_links_that_no_longer_match(catalogue, ticket_in, ops):
    solna = ticket_in(area=catalogue.solna)
    taby = ticket_in(area=catalogue.taby)
    incident = declare_incident(actor=ops, areas=[catalogue.stockholm]).incident
    result = incident_change_scope(incident=incident, actor=ops, areas=[catalogue.solna])
    assert attached(incident) == {solna.pk}
    row = IncidentTicketLink.objects.get(incident=incident, ticket=taby)
    assert row.detach_reason == REASON_SCOPE_NARROWED and row.detached_by is None
    assert result.detached_count == 1


def test_narrowing_keeps_links_a_person_made(catalogue, ticket_in, ops, tech):
    taby = ticket_in(area=catalogue.taby)
    incident = declare_incident(actor=ops, areas=[catalogue.solna]).incident
    incident_link_ticket(incident=incident, ticket=taby, actor=tech)
    incident_change_scope(incident=incident, actor=ops, areas=[catalogue.solna], keywords=["nothing-like-it"])
    assert attached(incident) == {taby.pk}


def test_narrowing_keeps_links_of_tickets_resolved_since(catalogue, ticket_in, ops):
    solna = ticket_in(area=catalogue.solna)
    incident = declare_incident(actor=ops, areas=[catalogue.stockholm]).incident
    ticket_set_status(ticket=solna, status="resolved", actor=ops)
    incident_change_scope(incident=incident, actor=ops, areas=[catalogue.solna])
    assert attached(incident) == {solna.pk}


def test_widening_back_re_attaches_what_narrowing_detached(catalogue, ticket_in, ops):
    taby = ticket_in(area=catalogue.taby)
    incident = declare_incident(actor=ops, areas=[catalogue.stockholm]).incident
    incident_change_scope(incident=incident, actor=ops, areas=[catalogue.solna])
    incident_change_scope(incident=incident, actor=ops, areas=[catalogue.stockholm])
    assert attached(incident) == {taby.pk}


def test_a_resolved_incidents_scope_cannot_change(catalogue, ops):
    incident = declare_incident(actor=ops, areas=[catalogue.stockholm]).incident
    incident_resolve(incident=incident, actor=ops)
    with pytest.raises(DomainError):
        incident_change_scope(incident=incident, actor=ops, areas=[catalogue.sweden])
