"""Each link says why it matched; a service guessed from the ticket's words scores lower."""

from __future__ import annotations

from incidents.matching import SCORE_CERTAIN, SCORE_SERVICE_GUESSED
from incidents.models import IncidentTicketLink
from tests.factories import CustomerFactory, declare_incident, open_ticket


def test_reasons_name_each_dimension_with_its_values(catalogue, ticket_in, ops):
    ticket = ticket_in(service=catalogue.email, area=catalogue.solna, subject="Outlook offline")
    incident = declare_incident(
        actor=ops, services=[catalogue.email], areas=[catalogue.stockholm], keywords=["outlook"]
    ).incident
    link = IncidentTicketLink.objects.get(incident=incident, ticket=ticket)
    assert link.reasons["service"] == ["email"]
    assert link.reasons["area"] == ["se-ab"]
    assert link.reasons["keywords"] == ["outlook"]
    assert "since" in link.reasons["time"]
    assert "note" not in link.reasons
    assert link.score == SCORE_CERTAIN


def test_a_service_guessed_from_text_is_said_and_scores_lower_on_declaration(catalogue, ops):
    customer = CustomerFactory()  # no subscription: the service comes from the words
    ticket = open_ticket(customer=customer, subject="Min e-post fungerar inte", description="Outlook")
    assert ticket.service == catalogue.email and ticket.service_source == "text"
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    link = IncidentTicketLink.objects.get(incident=incident, ticket=ticket)
    assert link.reasons["note"] == "service guessed from text"
    assert link.score == SCORE_SERVICE_GUESSED


def test_a_service_guessed_from_text_is_said_and_scores_lower_on_the_ticket_side(catalogue, ops):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    ticket = open_ticket(customer=CustomerFactory(), subject="Min e-post fungerar inte", description="")
    link = IncidentTicketLink.objects.get(incident=incident, ticket=ticket)
    assert link.reasons["note"] == "service guessed from text"
    assert link.score == SCORE_SERVICE_GUESSED


def test_both_sides_give_the_same_reasons(catalogue, ticket_in, ops):
    before = ticket_in(service=catalogue.email)
    incident = declare_incident(actor=ops, services=[catalogue.email], areas=[catalogue.sweden]).incident
    after = ticket_in(service=catalogue.email)
    a = IncidentTicketLink.objects.get(incident=incident, ticket=before)
    b = IncidentTicketLink.objects.get(incident=incident, ticket=after)
    assert a.reasons == b.reasons
