"""Through incidents.services: a declaration's lifecycle tells every agent, and each assignee of a
matched ticket, in the order it happened."""

from __future__ import annotations

import pytest

from incidents.services import incident_declare, incident_post_update, incident_resolve
from notifications.models import Alert
from tests import factories
from tests.notifications.conftest import SCRIPT

pytestmark = pytest.mark.django_db


def test_declare_update_resolve_alerts_staff_and_the_assignee_of_a_matched_ticket(
    ops, agent, django_capture_on_commit_callbacks
):
    from tickets.models import Ticket

    subscription = factories.SubscriptionFactory()
    ticket = factories.open_ticket(customer=subscription.customer, subscription=subscription)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent, status="open")

    with django_capture_on_commit_callbacks(execute=True):
        result = incident_declare(
            title="Fibre down in Solna",
            kind="outage",
            severity=3,
            services=[subscription.service],
            areas=[subscription.area],
            equipment=[],
            public_message={"en": "Fibre is down."},
            agent_script=SCRIPT,
            actor=ops,
        )
        incident = result.incident
        incident_post_update(incident=incident, actor=ops, message={"en": "Crew on site"})
        incident_resolve(incident=incident, actor=ops, message={"en": "Fixed"})

    assert result.linked_count == 1
    alerts = list(Alert.objects.filter(incident=incident).order_by("id"))
    assert [(a.kind, a.recipient_id, a.ticket_id) for a in alerts] == [
        ("incident-declared", None, None),
        ("ticket-matched", agent.pk, ticket.pk),
        ("incident-updated", None, None),
        ("incident-resolved", None, None),
    ]
    assert alerts[0].payload["incident"]["agent_script"] == SCRIPT
    assert all(a.pushed_at for a in alerts)  # embedded default: pushed right after each commit
