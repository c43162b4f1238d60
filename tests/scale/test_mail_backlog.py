"""100,000 mail tasks waiting do not delay an alert (issue 18): the ``alerts`` queue has its own worker.

The same run declares incidents with the ``mail`` queue empty, then with SCALE_MAIL_BACKLOG (100,000)
delivery tasks queued in front and a ``mail`` worker busy working through them, and prints both
latencies (declaration → the staff channel has the alert) and their ratio; bench/README.md, "Alerts
behind a full mail queue", keeps the figures. What is asserted is what does not depend on the
machine's load: every alert arrives exactly once, and the backlog is still waiting when the last
one does.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid

import pytest
import redis
from django.conf import settings as django_settings

from notifications.services import STAFF_GROUP
from notifications.tasks import deliver_outbox
from supportdesk.celery import app
from tests import processes
from tests.notifications.conftest import Inbox, declare
from tests.notifications.test_faults import wait_for

pytestmark = [pytest.mark.scale, pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

BACKLOG = int(os.environ.get("SCALE_MAIL_BACKLOG", "100000"))
DECLARATIONS = 15


def mail_waiting() -> int:
    return redis.Redis.from_url(django_settings.REDIS_URL).llen("mail")


def alert_latencies(*, ops, inbox: Inbox, label: str) -> list[float]:
    """Seconds from each declaration to its alert on the staff channel; each alert exactly once."""
    token = uuid.uuid4().hex[:8]
    latencies = []
    for n in range(DECLARATIONS):
        started = time.perf_counter()
        incident = declare(actor=ops, title=f"{label} {n} {token}")
        alert = next_alert(inbox)
        latencies.append(time.perf_counter() - started)
        assert alert["incident"]["id"] == incident.pk
    assert [e for e in inbox.drain(timeout=1) if e.get("type") == "alert.push"] == []  # nothing doubled
    return latencies


def next_alert(inbox: Inbox, timeout: float = 30) -> dict:
    """The next alert pushed to the inbox (queue hints skipped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in inbox.drain(timeout=deadline - time.monotonic(), until=1):
            if event.get("type") == "alert.push":
                return event["alert"]
    raise AssertionError(f"no alert within {timeout} s")


def enqueue_mail_backlog(count: int) -> int:
    """``count`` delivery tasks on the ``mail`` queue: one sent through Celery, the rest its copies with
    fresh task ids and delivery tags, pushed in pipelines (sending 100,000 one by one takes minutes
    here; what waits in the broker is the same). Returns one message's size in bytes."""
    deliver_outbox.apply_async()
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    (raw,) = client.lrange("mail", 0, 0)
    message = json.loads(raw)
    task_id, tag = message["headers"]["id"], message["properties"]["delivery_tag"]
    template = raw.decode()
    for start in range(1, count, 5000):
        pipe = client.pipeline(transaction=False)
        for _ in range(min(5000, count - start)):
            pipe.lpush("mail", template.replace(task_id, str(uuid.uuid4())).replace(tag, str(uuid.uuid4())))
        pipe.execute()
    return len(raw)


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def test_alerts_keep_their_latency_while_100000_mail_tasks_wait(transactional_db, settings, ops):
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.control.purge()
    inbox = Inbox(STAFF_GROUP)
    workers = [processes.start_worker("alerts", queues=["alerts"])]
    try:
        quiet = alert_latencies(ops=ops, inbox=inbox, label="Quiet")

        enqueued = time.perf_counter()
        size = enqueue_mail_backlog(BACKLOG)
        enqueued = time.perf_counter() - enqueued
        assert mail_waiting() == BACKLOG
        workers.append(processes.start_worker("mail", queues=["mail"]))
        wait_for(lambda: mail_waiting() < BACKLOG)  # the mail worker is busy on the backlog
        busy = alert_latencies(ops=ops, inbox=inbox, label="Behind the mail")
        waiting = mail_waiting()
        assert waiting > 0, "the mail worker emptied the backlog before the last alert: nothing was tested"
    finally:
        for worker in workers:
            processes.stop(worker)
        inbox.close()
        app.control.purge()

    print(
        f"\nmail backlog {BACKLOG:,} tasks of {size} bytes (enqueued in {enqueued:.1f} s, {waiting:,} still "
        f"waiting at the end); "
        f"load {os.getloadavg()[0]:.1f}\n"
        f"alert latency, mail queue empty:  p50 {p(quiet, 50):.0f} ms, p99 {p(quiet, 99):.0f} ms\n"
        f"alert latency, behind the backlog: p50 {p(busy, 50):.0f} ms, p99 {p(busy, 99):.0f} ms\n"
        f"ratio busy / quiet: p50 {p(busy, 50) / p(quiet, 50):.2f}, p99 {p(busy, 99) / p(quiet, 99):.2f}"
    )
