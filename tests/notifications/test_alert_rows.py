"""Alerts are rows first: written in the transaction that changed the incident."""

from __future__ import annotations

import pytest
from django.db import transaction

from incidents.models import Incident
from incidents.services import incident_post_update, incident_resolve
from notifications.models import Alert
from tests import factories
from tests.notifications.conftest import SCRIPT, declare, link
from tickets.services import ticket_assign

pytestmark = pytest.mark.django_db


def test_declaring_an_incident_records_one_staff_alert_with_its_script_in_every_language(
    ops, django_capture_on_commit_callbacks
):
    # The push waits for the commit (none here): the row alone is what the declaration wrote.
    with django_capture_on_commit_callbacks(execute=False) as pushes:
        incident = declare(actor=ops)

    alert = Alert.objects.get()
    assert alert.kind == Alert.Kind.INCIDENT_DECLARED
    assert alert.recipient is None  # every staff member
    assert alert.incident == incident
    assert alert.pushed_at is None
    assert len(pushes) == 1
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
        declare(actor=ops, title="Doomed")
        assert Alert.objects.filter(incident__title="Doomed").exists()  # written inside the transaction
        raise RuntimeError("the caller's transaction failed after the declaration")

    assert not Incident.objects.exists()
    assert not Alert.objects.exists()


def test_updates_and_resolution_are_alerted_with_the_update_text(ops):
    incident = declare(actor=ops)
    incident_post_update(
        incident=incident, actor=ops, message={"en": "Crew on site", "sv": "Tekniker på plats"}
    )
    incident_resolve(incident=incident, actor=ops)

    kinds = list(Alert.objects.values_list("kind", flat=True))
    assert kinds == ["incident-declared", "incident-updated", "incident-resolved"]
    updated = Alert.objects.get(kind="incident-updated")
    assert updated.payload["update"] == {
        "message": {"en": "Crew on site", "sv": "Tekniker på plats"},
        "public": True,
    }
    assert Alert.objects.get(kind="incident-resolved").payload["incident"]["status"] == "resolved"


def test_auto_links_alert_each_assignee_of_a_linked_ticket(ops, agent, tech, django_assert_max_num_queries):
    subscription = factories.SubscriptionFactory()
    mine, theirs, unassigned = (factories.open_ticket(customer=subscription.customer) for _ in range(3))
    ticket_assign(ticket=mine, assignee=agent, actor=agent)
    ticket_assign(ticket=theirs, assignee=tech, actor=tech)
    elsewhere = factories.open_ticket()  # another customer's subscription: outside the scope
    ticket_assign(ticket=elsewhere, assignee=agent, actor=agent)

    # The declaration links the three tickets in its scope (origin "auto").
    incident = declare(actor=ops, services=[subscription.service], areas=[subscription.area])

    matched = Alert.objects.filter(kind="ticket-matched").order_by("ticket_id")
    assert [(a.ticket_id, a.recipient_id) for a in matched] == [(mine.pk, agent.pk), (theirs.pk, tech.pk)]
    assert matched[0].payload["ticket"] == {"id": mine.pk, "reference": mine.reference}
    assert matched[0].payload["incident"]["id"] == incident.pk

    # Set-based: the assignees in one query and one insert, however many tickets.
    from notifications import services

    Alert.objects.filter(kind="ticket-matched").delete()
    with django_assert_max_num_queries(2):
        services.alerts_for_matched_tickets(incident=incident, ticket_ids=[mine.pk, theirs.pk, unassigned.pk])
    assert Alert.objects.filter(kind="ticket-matched").count() == 2


def test_a_ticket_linked_by_a_person_alerts_nobody(ops, agent):
    subscription = factories.SubscriptionFactory()
    ticket = factories.open_ticket(customer=subscription.customer)
    ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    # Scoped to another area: the declaration does not link the ticket, the agent does.
    incident = declare(actor=ops, areas=[factories.AreaFactory()])

    link(incident=incident, ticket=ticket, actor=agent)

    assert ticket.incident_links.get().origin == "agent"
    assert not Alert.objects.filter(kind="ticket-matched").exists()
