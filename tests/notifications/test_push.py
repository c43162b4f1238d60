"""Pushes second: after commit, to the right audience, idempotently; the sweep catches what was missed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Alert
from notifications.tasks import fan_out_alert, sweep_pending_alerts
from tests import factories
from tests.notifications.conftest import Inbox, declare
from tickets.services import ticket_assign

pytestmark = pytest.mark.django_db


def test_an_incident_alert_is_pushed_to_all_staff_after_commit(
    ops, staff_inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        incident = declare(actor=ops)
    assert staff_inbox.drain(timeout=0.1) == []  # nothing before the commit

    for callback in callbacks:
        callback()

    [event] = staff_inbox.drain()
    alert = Alert.objects.get()
    assert event["type"] == "alert.push"
    assert event["alert"]["id"] == alert.pk
    assert event["alert"]["kind"] == "incident-declared"
    assert event["alert"]["incident"]["id"] == incident.pk
    assert alert.pushed_at is not None


def test_a_ticket_alert_goes_only_to_its_assignee(ops, agent, tech, django_capture_on_commit_callbacks):
    subscription = factories.SubscriptionFactory()
    ticket = factories.open_ticket(customer=subscription.customer)
    ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    staff, annas, tomas = (
        Inbox("alerts.staff"),
        Inbox(f"alerts.user.{agent.pk}"),
        Inbox(f"alerts.user.{tech.pk}"),
    )

    with django_capture_on_commit_callbacks(execute=True):
        declare(actor=ops, services=[subscription.service], areas=[subscription.area])

    [event] = annas.drain()
    assert event["alert"]["kind"] == "ticket-matched"
    assert event["alert"]["ticket"]["reference"] == ticket.reference
    pushed = [e["alert"]["kind"] for e in staff.drain() if e["type"] == "alert.push"]
    assert pushed == ["incident-declared"]  # not the ticket's (the queue's refresh hint aside)
    assert tomas.drain(timeout=0.1) == []


def test_fanning_out_twice_sends_once(ops, staff_inbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        declare(actor=ops)
    alert = Alert.objects.get()

    assert fan_out_alert(alert.pk) is True
    assert fan_out_alert(alert.pk) is False
    assert fan_out_alert(987654) is False  # gone: harmless

    assert len(staff_inbox.drain()) == 1


def test_the_sweep_pushes_only_alerts_left_unpushed_for_a_while(
    ops, staff_inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        declare(actor=ops, title="Old and missed")
        declare(actor=ops, title="Just now, its own push still on the way")
    old, fresh = Alert.objects.order_by("id")
    Alert.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(seconds=30))

    assert sweep_pending_alerts() == 1

    [event] = staff_inbox.drain()
    assert event["alert"]["id"] == old.pk
    assert set(Alert.objects.filter(pushed_at__isnull=True).values_list("pk", flat=True)) == {fresh.pk}
    assert services.pending_alert_ids(now=timezone.now() + timedelta(seconds=10)) == [fresh.pk]


def test_many_matched_tickets_are_pushed_in_batches_each_to_its_assignee(
    ops, agent, tech, django_capture_on_commit_callbacks
):
    from notifications.models import Alert as AlertModel

    incident = declare(actor=ops)
    annas = Inbox(f"alerts.user.{agent.pk}")
    count = services.FAN_OUT_BATCH + 5  # two batches; under the layer's per-channel capacity each
    with django_capture_on_commit_callbacks(execute=True):
        alerts = AlertModel.objects.bulk_create(
            [
                AlertModel(kind="ticket-matched", incident=incident, recipient=agent if n % 2 else tech)
                for n in range(count)
            ]
        )
        services.publish_on_commit([a.pk for a in alerts])

    got = [e["alert"]["id"] for e in annas.drain(timeout=0.5)]
    assert sorted(got) == sorted(a.pk for a in alerts if a.recipient_id == agent.pk)
    assert not AlertModel.objects.filter(kind="ticket-matched", pushed_at__isnull=True).exists()


def test_a_push_the_layer_refuses_leaves_the_alert_for_the_sweep(
    ops, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        declare(actor=ops)
    alert = Alert.objects.get()
    default_layers = settings.CHANNEL_LAYERS
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }

    with pytest.raises(Exception):  # noqa: B017 - whatever the client raises; the task fails loudly
        fan_out_alert(alert.pk)
    alert.refresh_from_db()
    assert alert.pushed_at is None  # sent first, marked second: a failed send is never marked

    settings.CHANNEL_LAYERS = default_layers
    inbox = Inbox("alerts.staff")
    Alert.objects.filter(pk=alert.pk).update(created_at=timezone.now() - timedelta(seconds=30))
    assert sweep_pending_alerts() == 1
    assert [e["alert"]["id"] for e in inbox.drain()] == [alert.pk]
    inbox.close()


def test_the_sweep_is_scheduled_and_both_fan_out_tasks_are_registered():
    from supportdesk.celery import app

    app.finalize()
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "notifications.tasks.sweep_pending_alerts" in schedule
    assert {"notifications.tasks.fan_out_alert", "notifications.tasks.fan_out_alerts"} <= set(app.tasks)


def test_a_batch_is_loaded_sent_and_marked_in_a_constant_number_of_queries(
    ops, agent, tech, django_assert_num_queries
):
    from notifications.models import Alert as AlertModel

    incident = declare(actor=ops)
    AlertModel.objects.update(pushed_at=timezone.now())
    annas, tomas = Inbox(f"alerts.user.{agent.pk}"), Inbox(f"alerts.user.{tech.pk}")
    alerts = AlertModel.objects.bulk_create(
        [
            AlertModel(kind="ticket-matched", incident=incident, recipient=agent if n % 2 else tech)
            for n in range(40)
        ]
    )
    ids = [a.pk for a in alerts]
    with django_assert_num_queries(2):  # one SELECT, one UPDATE, whatever the batch size
        assert services.alerts_push(ids) == 40
    assert sorted(e["alert"]["id"] for e in annas.drain(timeout=0.5)) == ids[1::2]
    assert sorted(e["alert"]["id"] for e in tomas.drain(timeout=0.5)) == ids[0::2]
    assert services.alerts_push(ids) == 0  # a retried batch sends nothing again
    annas.close()
    tomas.close()
