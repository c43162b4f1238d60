"""Opening or changing a ticket links it to the active incidents that explain it, at once."""

from __future__ import annotations

from django.utils import timezone

from incidents.models import IncidentTicketLink
from incidents.services import incident_resolve
from tests.factories import backdate, declare_incident
from tickets.models import TicketEvent
from tickets.services import ticket_change_scope, ticket_set_status


def links_of(ticket):
    return list(IncidentTicketLink.objects.filter(ticket=ticket, detached_at__isnull=True))


def test_a_new_ticket_is_linked_to_the_incident_that_covers_it(catalogue, ticket_in, ops):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    ticket = ticket_in(service=catalogue.email, subject="No mail")
    [link] = links_of(ticket)
    assert link.incident == incident
    assert link.origin == "auto"
    assert link.reasons["service"] == ["email"]


def test_a_new_ticket_outside_the_scope_is_not_linked(catalogue, ticket_in, ops):
    declare_incident(actor=ops, services=[catalogue.email], areas=[catalogue.stockholm])
    assert links_of(ticket_in(service=catalogue.email, area=catalogue.hisingen)) == []
    assert links_of(ticket_in(service=catalogue.iptv, area=catalogue.solna)) == []


def test_a_new_ticket_matches_the_area_subtree_and_equipment(catalogue, ticket_in, ops):
    incident = declare_incident(
        actor=ops, kind="known-issue", areas=[catalogue.sweden], equipment=[catalogue.zyxel]
    ).incident
    assert [link.incident for link in links_of(ticket_in(area=catalogue.taby))] == [incident]
    assert links_of(ticket_in(area=catalogue.taby, equipment=catalogue.fritz)) == []


def test_keywords_are_matched_case_insensitively_on_the_ticket_side(catalogue, ticket_in, ops):
    declare_incident(actor=ops, keywords=["SÄHKÖPOSTI"])
    assert len(links_of(ticket_in(subject="sähköposti ei toimi"))) == 1
    assert links_of(ticket_in(subject="netti ei toimi")) == []


def test_automatic_links_are_their_own_record_not_timeline_events(catalogue, ticket_in, ops):
    before = ticket_in(service=catalogue.email)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    after = ticket_in(service=catalogue.email)
    assert not TicketEvent.objects.filter(kind="incident-linked").exists()
    for ticket in (before, after):
        [link] = links_of(ticket)
        assert link.incident == incident and link.created_at is not None and link.reasons


def test_a_resolved_incident_links_no_new_tickets(catalogue, ticket_in, ops):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    incident_resolve(incident=incident, actor=ops)
    assert links_of(ticket_in(service=catalogue.email)) == []


def test_a_ticket_that_is_resolved_keeps_its_links(catalogue, ticket_in, ops):
    declare_incident(actor=ops, services=[catalogue.email])
    ticket = ticket_in(service=catalogue.email)
    ticket_set_status(ticket=ticket, status="resolved", actor=ops)
    assert len(links_of(ticket)) == 1


def test_a_reopened_ticket_is_matched_again(catalogue, ticket_in, ops):
    ticket = ticket_in(service=catalogue.email)
    ticket_set_status(ticket=ticket, status="resolved", actor=ops)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    assert links_of(ticket) == []
    ticket_set_status(ticket=ticket, status="open", actor=ops)
    assert [link.incident for link in links_of(ticket)] == [incident]


def test_a_ticket_whose_service_is_corrected_moves_to_the_right_incident(catalogue, ticket_in, ops):
    mail = declare_incident(actor=ops, services=[catalogue.email]).incident
    tv = declare_incident(actor=ops, title="TV down", services=[catalogue.iptv]).incident
    ticket = ticket_in(service=catalogue.email)
    ticket_change_scope(ticket=ticket, actor=ops, service=catalogue.iptv)
    assert [link.incident for link in links_of(ticket)] == [tv]
    old = IncidentTicketLink.objects.get(incident=mail, ticket=ticket)
    assert old.detached_at is not None and old.detached_by is None


def test_a_ticket_corrected_back_is_re_attached_by_matching(catalogue, ticket_in, ops):
    mail = declare_incident(actor=ops, services=[catalogue.email]).incident
    ticket = ticket_in(service=catalogue.email)
    ticket_change_scope(ticket=ticket, actor=ops, service=catalogue.iptv)
    ticket_change_scope(ticket=ticket, actor=ops, service=catalogue.email)
    assert [link.incident for link in links_of(ticket)] == [mail]


def test_a_ticket_opened_within_the_look_back_is_linked(catalogue, ticket_in, ops, settings):
    settings.INCIDENT_LOOKBACK = timezone.timedelta(hours=4)
    ticket = backdate(ticket_in(service=catalogue.email), hours=3)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    assert [link.incident for link in links_of(ticket)] == [incident]


def test_a_ticket_opened_before_the_look_back_is_not_linked(catalogue, ticket_in, ops, settings):
    settings.INCIDENT_LOOKBACK = timezone.timedelta(hours=4)
    ticket = backdate(ticket_in(service=catalogue.email), hours=5)
    declare_incident(actor=ops, services=[catalogue.email])
    assert links_of(ticket) == []


def test_the_look_back_counts_from_when_the_incident_started(catalogue, ticket_in, ops, settings):
    settings.INCIDENT_LOOKBACK = timezone.timedelta(hours=4)
    ticket = backdate(ticket_in(service=catalogue.email), hours=5)
    started = timezone.now() - timezone.timedelta(hours=2)
    declare_incident(actor=ops, services=[catalogue.email], started_at=started)
    assert len(links_of(ticket)) == 1


def test_a_known_issue_has_no_time_window(catalogue, ticket_in, ops, settings):
    settings.INCIDENT_LOOKBACK = timezone.timedelta(hours=4)
    old = backdate(ticket_in(equipment=catalogue.zyxel), days=30)
    incident = declare_incident(actor=ops, kind="known-issue", equipment=[catalogue.zyxel]).incident
    assert [link.incident for link in links_of(old)] == [incident]
    assert links_of(old)[0].reasons["time"] == "known-issue"
