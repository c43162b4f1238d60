"""Separate Celery queues (settings.CELERY_TASK_ROUTES): live alerts on ``alerts``, bulk e-mail on
``mail``, the rest on ``default`` — so a 100,000-message mailing never sits in front of an alert."""

from __future__ import annotations

import uuid

import pytest
import redis
from django.conf import settings as django_settings

from incidents.tasks import close_the_loop
from notifications.models import Alert, Notification
from notifications.tasks import deliver_outbox, fan_out_alert, sweep_outbox, sweep_pending_alerts
from supportdesk.celery import app
from tests import factories, processes
from tests.notifications.conftest import Inbox, declare
from tests.notifications.test_faults import wait_for
from tickets.tasks import mark_sla_breaches

MAIL_BACKLOG = 3000


def queue_for(task) -> str:
    return app.amqp.router.route({}, task.name, (), {})["queue"].name


def test_each_task_has_its_queue_and_each_queue_its_own_routing_key():
    assert {queue_for(t) for t in (fan_out_alert, sweep_pending_alerts)} == {"alerts"}
    assert {queue_for(t) for t in (deliver_outbox, sweep_outbox)} == {"mail"}
    assert {queue_for(t) for t in (close_the_loop, mark_sla_breaches)} == {"default"}
    # One binding per queue: with a shared routing key a task would be delivered to all three.
    keys = [q.routing_key for q in app.amqp.queues.values()]
    assert sorted(keys) == ["alerts", "default", "mail"]


def queue_length(name: str) -> int:
    return redis.Redis.from_url(django_settings.REDIS_URL).llen(name)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
def test_a_full_mail_queue_does_not_delay_an_alert(transactional_db, settings, ops):
    """Thousands of delivery tasks wait on ``mail``; an outage declared after them is pushed to staff
    by the worker on ``alerts``, while every one of them — and the declaration's own deliveries,
    enqueued in the same commit as the alert — still waits. Ordering, not timing, is asserted."""
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.control.purge()
    for i in range(5):  # customers to tell: the declaration queues their notices and deliveries
        factories.SubscriptionFactory(customer__email=f"c{i}@example.com")
    with app.producer_or_acquire() as producer:
        for _ in range(MAIL_BACKLOG):
            deliver_outbox.apply_async(producer=producer)
    assert queue_length("mail") == MAIL_BACKLOG

    token = uuid.uuid4().hex[:8]
    inbox = Inbox("alerts.staff")
    worker = processes.start_worker("alerts", queues=["alerts"])
    try:
        incident = declare(actor=ops, title=f"Outage {token}")
        received = inbox.drain(timeout=30, until=1)
        # The worker marks the alert pushed right after the push; let it finish before stopping it.
        wait_for(lambda: Alert.objects.filter(incident=incident, pushed_at__isnull=False).exists())
    finally:
        processes.stop(worker)
        inbox.close()

    alert = Alert.objects.get(incident=incident)
    assert [e["alert"]["id"] for e in received] == [alert.pk]
    # Not one mail task was taken: the backlog and the declaration's deliveries all still wait.
    assert queue_length("mail") > MAIL_BACKLOG
    assert Notification.objects.filter(incident=incident, state="pending").count() == 5
    app.control.purge()
