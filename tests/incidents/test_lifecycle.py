"""Declare, update, resolve, link by hand; and the signals each sends with its arguments."""

from __future__ import annotations

import pytest
from django.utils import timezone

from core.errors import DomainError
from incidents import signals
from incidents.models import Incident, IncidentTicketLink, IncidentUpdate
from incidents.services import (
    incident_link_ticket,
    incident_post_update,
    incident_resolve,
)
from tests.factories import declare_incident


@pytest.fixture
def sent():
    """Capture the incidents signals: a list of (signal name, kwargs)."""
    captured = []
    receivers = {}
    for name in ("incident_declared", "incident_updated", "incident_linked", "incident_resolved"):

        def receiver(sender, _name=name, **kwargs):
            kwargs.pop("signal", None)
            captured.append((_name, kwargs))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver, weak=False)
    yield captured
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


def test_declaring_stores_the_texts_per_language_and_sends_declared_and_linked(
    catalogue, ticket_in, ops, sent
):
    ticket = ticket_in(service=catalogue.email)
    result = declare_incident(
        actor=ops,
        services=[catalogue.email],
        public_message="Mail is down",
        agent_script={"sv": "Vi vet om det", "en": "We know"},
        workaround={"en": "1. Use webmail"},
    )
    incident = result.incident
    assert incident.public_message == {"en": "Mail is down"}
    assert incident.agent_script_in("sv") == "Vi vet om det"
    assert incident.created_by == ops
    assert [name for name, _ in sent] == ["incident_declared", "incident_linked"]
    assert sent[0][1] == {"incident": incident, "actor": ops, "linked_count": 1}
    assert sent[1][1] == {
        "incident": incident,
        "ticket_ids": [ticket.pk],
        "origin": "auto",
        "actor": ops,
        "assignees": None,  # tickets opened before the declaration: their assignees are read
    }


def test_a_declaration_needs_a_title_and_a_public_message(catalogue, ops):
    with pytest.raises(DomainError) as err:
        declare_incident(actor=ops, title="  ")
    assert err.value.field == "title"
    with pytest.raises(DomainError) as err:
        declare_incident(actor=ops, public_message={})
    assert err.value.field == "public_message"
    with pytest.raises(DomainError) as err:
        declare_incident(actor=ops, public_message={"de": "Hallo"})
    assert err.value.field == "public_message"
    assert not Incident.objects.exists()


def test_posting_an_update_moves_status_and_eta_and_sends_updated(catalogue, ops, sent):
    incident = declare_incident(actor=ops).incident
    eta = timezone.now() + timezone.timedelta(hours=1)
    update = incident_post_update(
        incident=incident, actor=ops, message={"en": "Found it"}, status="identified", eta=eta
    )
    incident.refresh_from_db()
    assert incident.status == "identified" and incident.eta == eta
    assert update.author == ops and update.public
    assert sent[-1] == (
        "incident_updated",
        {"incident": update.incident, "actor": ops, "update": update, "scope_changed": False},
    )


def test_an_update_cannot_resolve(catalogue, ops):
    incident = declare_incident(actor=ops).incident
    with pytest.raises(DomainError):
        incident_post_update(incident=incident, actor=ops, message="done", status="resolved")


def test_resolving_keeps_links_and_sends_resolved(catalogue, ticket_in, ops, sent):
    ticket = ticket_in(service=catalogue.email)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    incident_resolve(incident=incident, actor=ops, message={"en": "Fixed, sorry"})
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_at is not None
    assert IncidentTicketLink.objects.get(incident=incident, ticket=ticket).attached
    assert IncidentUpdate.objects.filter(incident=incident, status="resolved").exists()
    assert sent[-1][0] == "incident_resolved"


def test_resolving_twice_is_refused(catalogue, ops):
    incident = declare_incident(actor=ops).incident
    incident_resolve(incident=incident, actor=ops)
    with pytest.raises(DomainError):
        incident_resolve(incident=incident, actor=ops)


def test_linking_by_hand_records_the_person_and_sends_linked(catalogue, ticket_in, ops, tech, sent):
    ticket = ticket_in(service=catalogue.iptv)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    link = incident_link_ticket(incident=incident, ticket=ticket, actor=tech)
    assert link.origin == "agent" and link.linked_by == tech
    assert sent[-1] == (
        "incident_linked",
        {
            "incident": incident,
            "ticket_ids": [ticket.pk],
            "origin": "agent",
            "actor": tech,
            "assignees": None,
        },
    )


def test_linking_by_hand_twice_is_harmless(catalogue, ticket_in, ops, tech):
    ticket = ticket_in(service=catalogue.iptv)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    incident_link_ticket(incident=incident, ticket=ticket, actor=tech)
    incident_link_ticket(incident=incident, ticket=ticket, actor=tech)
    assert IncidentTicketLink.objects.filter(incident=incident, ticket=ticket).count() == 1


def test_a_resolved_incident_cannot_be_linked_by_hand(catalogue, ticket_in, ops, tech):
    ticket = ticket_in(service=catalogue.iptv)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    incident_resolve(incident=incident, actor=ops)
    with pytest.raises(DomainError):
        incident_link_ticket(incident=incident, ticket=ticket, actor=tech)


def test_a_repeated_external_key_is_refused(catalogue, ops):
    declare_incident(actor=ops, external_key="alertmanager/mail")
    with pytest.raises(DomainError) as err:
        declare_incident(actor=ops, external_key="alertmanager/mail")
    assert err.value.field == "external_key"
