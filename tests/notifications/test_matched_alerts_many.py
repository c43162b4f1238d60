"""A declaration that links many tickets tells each assignee once, however the assignees are found."""

from __future__ import annotations

import pytest

from incidents.services import incident_declare
from notifications import services
from notifications.models import Alert
from tests import factories
from tickets.services import ticket_assign

pytestmark = [pytest.mark.django_db, pytest.mark.core]


@pytest.mark.parametrize("large_match", [1000, 0], ids=["by-id-list", "by-join"])
def test_each_assigned_ticket_gets_one_matched_alert(ops, agent, tech, monkeypatch, large_match):
    monkeypatch.setattr(services, "LARGE_MATCH", large_match)
    sub = factories.SubscriptionFactory()
    tickets = [factories.open_ticket(customer=sub.customer) for _ in range(5)]
    ticket_assign(ticket=tickets[0], assignee=agent, actor=agent)
    ticket_assign(ticket=tickets[3], assignee=tech, actor=tech)

    def declare(title):
        return incident_declare(
            title=title,
            kind="outage",
            severity=2,
            services=[sub.service],
            areas=[sub.area],
            equipment=[],
            public_message={"en": "Down"},
            actor=ops,
        ).incident

    first = declare("Fibre down")
    matched = Alert.objects.filter(kind=Alert.Kind.TICKET_MATCHED, incident=first)
    assert sorted(matched.values_list("ticket_id", "recipient_id")) == [
        (tickets[0].pk, agent.pk),
        (tickets[3].pk, tech.pk),
    ]
    second = declare("Fibre down again")
    assert Alert.objects.filter(kind=Alert.Kind.TICKET_MATCHED, incident=second).count() == 2
    assert matched.count() == 2  # nothing doubled for the first incident
