"""Receipts: what each agent's browser did with an alert, upserted, first time kept."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import Alert, AlertReceipt
from tests.notifications.conftest import declare

pytestmark = pytest.mark.django_db


def test_a_receipt_is_created_then_advanced_keeping_the_first_times(ops, agent):
    declare(actor=ops)
    alert = Alert.objects.get()

    assert services.receipt_record(alert_id=alert.pk, user=agent, state="delivered")
    first = AlertReceipt.objects.get()
    assert first.delivered_at and not first.seen_at and not first.acknowledged_at

    services.receipt_record(alert_id=alert.pk, user=agent, state="delivered")
    services.receipt_record(alert_id=alert.pk, user=agent, state="seen")
    services.receipt_record(alert_id=alert.pk, user=agent, state="acknowledged")

    receipt = AlertReceipt.objects.get()
    assert receipt.delivered_at == first.delivered_at
    assert receipt.delivered_at <= receipt.seen_at <= receipt.acknowledged_at


def test_acknowledging_first_implies_delivered_and_seen(ops, agent):
    declare(actor=ops)
    alert = Alert.objects.get()

    services.receipt_record(alert_id=alert.pk, user=agent, state="acknowledged")

    receipt = AlertReceipt.objects.get(user=agent)
    assert receipt.delivered_at and receipt.seen_at and receipt.acknowledged_at


def test_nobody_can_receipt_someone_elses_ticket_alert(ops, agent, tech):
    declare(actor=ops)
    incident = Alert.objects.get().incident
    theirs = Alert.objects.create(kind="ticket-matched", incident=incident, recipient=tech)

    assert services.receipt_record(alert_id=theirs.pk, user=agent, state="seen") is False
    assert services.receipt_record(alert_id=424242, user=agent, state="seen") is False
    assert not AlertReceipt.objects.filter(user=agent).exists()


def test_an_unknown_state_is_a_programming_error(ops, agent):
    declare(actor=ops)
    with pytest.raises(ValueError):
        services.receipt_record(alert_id=Alert.objects.get().pk, user=agent, state="loved")
