"""Declaring an incident links the open tickets its scope covers: every dimension and combinations."""

from __future__ import annotations

from incidents.models import IncidentTicketLink
from tests.factories import declare_incident


def linked(incident) -> set[int]:
    return set(
        IncidentTicketLink.objects.filter(incident=incident, detached_at__isnull=True).values_list(
            "ticket_id", flat=True
        )
    )


def test_it_links_open_tickets_of_a_listed_service(catalogue, ticket_in, ops):
    mail = ticket_in(service=catalogue.email)
    broadband = ticket_in(service=catalogue.broadband)
    result = declare_incident(actor=ops, services=[catalogue.email])
    assert linked(result.incident) == {mail.pk}
    assert broadband.pk not in linked(result.incident)
    assert result.linked_count == 1


def test_it_links_tickets_of_any_listed_service(catalogue, ticket_in, ops):
    mail = ticket_in(service=catalogue.email)
    tv = ticket_in(service=catalogue.iptv)
    ticket_in(service=catalogue.broadband)
    result = declare_incident(actor=ops, services=[catalogue.email, catalogue.iptv])
    assert linked(result.incident) == {mail.pk, tv.pk}


def test_it_links_tickets_in_the_areas_subtree(catalogue, ticket_in, ops):
    solna = ticket_in(area=catalogue.solna)
    taby = ticket_in(area=catalogue.taby)
    hisingen = ticket_in(area=catalogue.hisingen)
    result = declare_incident(actor=ops, areas=[catalogue.stockholm])
    assert linked(result.incident) == {solna.pk, taby.pk}
    assert hisingen.pk not in linked(result.incident)


def test_an_area_matches_itself_but_not_a_sibling_with_a_longer_code(catalogue, ticket_in, ops):
    # "se-ab-taby/" is a sibling of "se-ab-solna/" — the trailing slash keeps prefixes honest.
    solna = ticket_in(area=catalogue.solna)
    ticket_in(area=catalogue.taby)
    result = declare_incident(actor=ops, areas=[catalogue.solna])
    assert linked(result.incident) == {solna.pk}


def test_it_links_tickets_of_a_listed_equipment_model(catalogue, ticket_in, ops):
    zyxel = ticket_in(equipment=catalogue.zyxel)
    ticket_in(equipment=catalogue.fritz)
    result = declare_incident(actor=ops, kind="known-issue", equipment=[catalogue.zyxel])
    assert linked(result.incident) == {zyxel.pk}


def test_keywords_match_subject_or_description_case_insensitively(catalogue, ticket_in, ops):
    in_subject = ticket_in(subject="OUTLOOK will not sync")
    in_description = ticket_in(subject="Help", description="My Outlook says offline")
    ticket_in(subject="Slow internet", description="Everything is slow")
    result = declare_incident(actor=ops, keywords=["outlook"])
    assert linked(result.incident) == {in_subject.pk, in_description.pk}


def test_any_keyword_is_enough(catalogue, ticket_in, ops):
    imap = ticket_in(description="IMAP login fails")
    smtp = ticket_in(description="smtp timeout")
    result = declare_incident(actor=ops, keywords=["imap", "SMTP"])
    assert linked(result.incident) == {imap.pk, smtp.pk}


def test_a_ticket_must_match_every_named_dimension(catalogue, ticket_in, ops):
    both = ticket_in(service=catalogue.email, area=catalogue.solna)
    wrong_area = ticket_in(service=catalogue.email, area=catalogue.hisingen)
    wrong_service = ticket_in(service=catalogue.broadband, area=catalogue.solna)
    result = declare_incident(actor=ops, services=[catalogue.email], areas=[catalogue.stockholm])
    assert linked(result.incident) == {both.pk}
    assert not linked(result.incident) & {wrong_area.pk, wrong_service.pk}


def test_service_area_equipment_and_keywords_together(catalogue, ticket_in, ops):
    hit = ticket_in(
        service=catalogue.broadband,
        area=catalogue.taby,
        equipment=catalogue.zyxel,
        subject="Modem blinks red",
    )
    ticket_in(
        service=catalogue.broadband, area=catalogue.taby, equipment=catalogue.fritz, subject="Modem red"
    )
    ticket_in(service=catalogue.broadband, area=catalogue.taby, equipment=catalogue.zyxel, subject="Slow")
    result = declare_incident(
        actor=ops,
        services=[catalogue.broadband],
        areas=[catalogue.stockholm],
        equipment=[catalogue.zyxel],
        keywords=["red"],
    )
    assert linked(result.incident) == {hit.pk}


def test_an_empty_scope_covers_every_open_ticket(catalogue, ticket_in, ops):
    tickets = {ticket_in(service=s).pk for s in (catalogue.email, catalogue.iptv, catalogue.broadband)}
    result = declare_incident(actor=ops)
    assert linked(result.incident) == tickets


def test_resolved_and_closed_tickets_are_not_linked(catalogue, ticket_in, ops):
    from tickets.services import ticket_set_status

    done = ticket_in(service=catalogue.email)
    ticket_set_status(ticket=done, status="resolved", actor=ops)
    waiting = ticket_in(service=catalogue.email)
    ticket_set_status(ticket=waiting, status="pending-customer", actor=ops)
    result = declare_incident(actor=ops, services=[catalogue.email])
    assert linked(result.incident) == {waiting.pk}


def test_the_declaration_counts_affected_subscriptions(catalogue, ticket_in, ops):
    from tests.factories import SubscriptionFactory

    SubscriptionFactory(service=catalogue.email, area=catalogue.solna)
    SubscriptionFactory(service=catalogue.email, area=catalogue.taby)
    SubscriptionFactory(service=catalogue.email, area=catalogue.hisingen)
    SubscriptionFactory(service=catalogue.email, area=catalogue.solna, active=False)
    result = declare_incident(actor=ops, services=[catalogue.email], areas=[catalogue.stockholm])
    assert result.affected_subscriptions == 2
