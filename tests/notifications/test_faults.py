"""Faults, against real Redis, PostgreSQL and Celery workers: nothing declared is ever lost.

The push is at-least-once (browsers dedupe by id); these tests prove the "at least".
"""

from __future__ import annotations

import contextlib
import signal
import time
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications import services
from notifications.models import Alert
from notifications.tasks import sweep_pending_alerts
from supportdesk.celery import app
from tests import processes
from tests.notifications.conftest import Inbox, collect_in_background, declare

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/1"  # nothing listens on port 1


@contextlib.contextmanager
def broker_unreachable():
    """This process's Celery producer points at a closed port; the machine's Redis keeps running."""
    previous = app.conf.broker_url

    def reset_pools() -> None:
        # The app caches its producer pool; kombu keeps one per URL, so the old one is reused after.
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = CLOSED_PORT_BROKER
    reset_pools()
    try:
        yield
    finally:
        app.conf.broker_url = previous
        reset_pools()


def wait_for(predicate, *, timeout: float = 30, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(every)
    raise AssertionError(f"not true within {timeout} s: {predicate}")


def alert_ids_in(events: list[dict], token: str) -> list[int]:
    """Alert ids among the events that belong to this test (other runs may share the Redis)."""
    return [e["alert"]["id"] for e in events if token in e["alert"]["incident"]["title"]]


def backdate_unpushed() -> None:
    """As if the sweep's grace period (a few seconds) had passed."""
    Alert.objects.filter(pushed_at__isnull=True).update(created_at=timezone.now() - timedelta(seconds=30))


def test_declaring_with_the_broker_down_succeeds_and_the_sweep_delivers_later(live_worker, ops):
    token = uuid.uuid4().hex[:8]
    inbox = Inbox("alerts.staff")
    try:
        with broker_unreachable():
            incidents = [declare(actor=ops, title=f"Outage {n} {token}") for n in range(3)]
        # The declarations committed; their alerts wait, unpushed.
        alerts = list(Alert.objects.filter(incident__in=incidents).order_by("id"))
        assert len(alerts) == 3
        assert all(a.pushed_at is None for a in alerts)
        assert alert_ids_in(inbox.drain(timeout=1), token) == []

        backdate_unpushed()
        sweep_pending_alerts.delay()  # the broker is back: the worker sweeps and fans out

        received = alert_ids_in(inbox.drain(timeout=5, until=3), token)
        received += alert_ids_in(inbox.drain(timeout=1), token)  # anything extra would show here
        assert sorted(received) == [a.pk for a in alerts]  # each exactly once
        assert not Alert.objects.filter(pushed_at__isnull=True).exists()
    finally:
        inbox.close()


def test_a_worker_killed_mid_fan_out_loses_nothing(live_worker, ops):
    token = uuid.uuid4().hex[:8]
    incident = declare(actor=ops, title=f"Mass outage {token}")
    inbox = Inbox("alerts.staff")
    finish = collect_in_background(inbox)
    count = 300
    with transaction.atomic():
        alerts = Alert.objects.bulk_create(
            [
                Alert(
                    kind="incident-updated",
                    incident=incident,
                    payload={"incident": {"title": f"{n} {token}"}},
                )
                for n in range(count)
            ]
        )
        services.publish_on_commit([a.pk for a in alerts])
    ids = {a.pk for a in alerts} | set(Alert.objects.filter(incident=incident).values_list("pk", flat=True))

    # Kill the worker's whole process group once fan-out has started, before it finishes.
    wait_for(lambda: Alert.objects.filter(pk__in=ids, pushed_at__isnull=False).exists(), every=0.005)
    processes.stop(live_worker, signal.SIGKILL)
    pushed_at_kill = Alert.objects.filter(pk__in=ids, pushed_at__isnull=False).count()
    assert pushed_at_kill < len(ids), "the worker finished before it was killed: nothing was tested"

    replacement = processes.start_worker("test-restart")
    try:
        backdate_unpushed()
        sweep_pending_alerts.delay()
        wait_for(lambda: not Alert.objects.filter(pk__in=ids, pushed_at__isnull=True).exists())
        time.sleep(1)  # let the last pushes reach the inbox
        events = finish()
    finally:
        processes.stop(replacement)
        inbox.close()

    received = alert_ids_in(events, token)
    assert set(received) == ids  # a browser deduping by id sees every alert once
    print(f"killed after {pushed_at_kill}/{len(ids)} pushes; {len(received) - len(ids)} duplicate pushes")
