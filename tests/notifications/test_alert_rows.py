"""Alerts are rows first: written in the transaction that changed the incident."""

from __future__ import annotations

import pytest
from django.db import transaction

from incidents import signals
from incidents.models import Incident, IncidentUpdate
from notifications.models import Alert
from tests import factories
from tests.notifications.conftest import SCRIPT, declare, link

pytestmark = pytest.mark.django_db


def test_declaring_an_incident_records_one_staff_alert_with_its_script_in_every_language(ops):
    incident = declare(actor=ops)

    alert = Alert.objects.get()
    assert alert.kind == Alert.Kind.INCIDENT_DECLARED
    assert alert.recipient is None  # every staff member
    assert alert.incident == incident
    assert alert.pushed_at is None or alert.pushed_at  # pushed or not, the row is there
    assert alert.payload["incident"] == {
        "id": incident.pk,
        "title": "Fibre outage in Stockholm",
        "kind": "outage",
        "severity": 3,
        "status": "investigating",
        "eta": None,
        "agent_script": SCRIPT,
        "public_message": {"en": "Fibre is down in Stockholm."},
    }


def test_an_alert_rolls_back_with_the_declaration(ops):
    with pytest.raises(RuntimeError), transaction.atomic():
        incident = Incident.objects.create(title="Doomed", kind="outage")
        signals.incident_declared.send(sender=Incident, incident=incident, actor=ops, linked_count=0)
        raise RuntimeError("the declaration failed after the signal")

    assert not Alert.objects.exists()


def test_updates_and_resolution_are_alerted_with_the_update_text(ops):
    incident = declare(actor=ops)
    with transaction.atomic():
        update = IncidentUpdate.objects.create(
            incident=incident, message={"en": "Crew on site", "sv": "Tekniker på plats"}, author=ops
        )
        signals.incident_updated.send(
            sender=Incident, incident=incident, actor=ops, update=update, scope_changed=False
        )
    with transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(status="resolved", resolved_at=incident.started_at)
        incident.refresh_from_db()
        signals.incident_resolved.send(sender=Incident, incident=incident, actor=ops)

    kinds = list(Alert.objects.values_list("kind", flat=True))
    assert kinds == ["incident-declared", "incident-updated", "incident-resolved"]
    updated = Alert.objects.get(kind="incident-updated")
    assert updated.payload["update"] == {
        "message": {"en": "Crew on site", "sv": "Tekniker på plats"},
        "public": True,
    }
    assert Alert.objects.get(kind="incident-resolved").payload["incident"]["status"] == "resolved"


def test_auto_links_alert_each_assignee_of_a_linked_ticket(ops, agent, tech, django_assert_max_num_queries):
    mine = factories.open_ticket()
    theirs = factories.open_ticket()
    unassigned = factories.open_ticket()
    incident = declare(actor=ops)
    from tickets.models import Ticket

    Ticket.objects.filter(pk=mine.pk).update(assignee=agent)
    Ticket.objects.filter(pk=theirs.pk).update(assignee=tech)

    # Set-based: the assignees in one query and one insert, however many tickets.
    from notifications import services

    with django_assert_max_num_queries(2):
        services.alerts_for_matched_tickets(incident=incident, ticket_ids=[mine.pk, theirs.pk, unassigned.pk])
    Alert.objects.filter(kind="ticket-matched").delete()

    link(incident=incident, tickets=[mine, theirs, unassigned])

    matched = Alert.objects.filter(kind="ticket-matched").order_by("ticket_id")
    assert [(a.ticket_id, a.recipient_id) for a in matched] == [(mine.pk, agent.pk), (theirs.pk, tech.pk)]
    assert matched[0].payload["ticket"] == {"id": mine.pk, "reference": mine.reference}
    assert matched[0].payload["incident"]["id"] == incident.pk


def test_a_ticket_linked_by_a_person_alerts_nobody(ops, agent):
    ticket = factories.open_ticket()
    incident = declare(actor=ops)
    from tickets.models import Ticket

    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)

    link(incident=incident, tickets=[ticket], actor=agent, origin="agent")

    assert not Alert.objects.filter(kind="ticket-matched").exists()
