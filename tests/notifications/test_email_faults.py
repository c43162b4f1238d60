"""Faults with real workers, Redis, PostgreSQL and a local SMTP server: a worker killed mid-chunk or a
delivery task run twice loses no e-mail, and duplicates only the message in flight at the kill."""

from __future__ import annotations

import collections
import os
import signal
import time

import pytest

from notifications.models import Notification
from notifications.tasks import deliver_outbox, sweep_outbox
from tests import factories
from tests.processes import start_worker, stop

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

CUSTOMERS = 120
WORKER_PROCESSES = 2  # live_worker runs ``-c 2``: at most one message in flight in each


@pytest.fixture
def worker_smtp(smtp, monkeypatch):
    """The SMTP sink, and the same settings for worker processes (they read the environment)."""
    monkeypatch.setenv("EMAIL_HOST", "127.0.0.1")
    monkeypatch.setenv("EMAIL_PORT", str(smtp.port))
    monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    monkeypatch.setenv("NOTIFICATION_CHUNK_SIZE", "20")
    monkeypatch.setenv("NOTIFICATION_CLAIM_SECONDS", "5")  # a dead worker's rows come back soon
    return smtp


def wait_for(predicate, *, timeout: float = 60, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(every)
    raise AssertionError(f"not true within {timeout} s: {predicate}")


def affected_customers(n: int) -> list[str]:
    area = factories.AreaFactory(code="se-ab-0180", name="Stockholm city")
    service = factories.ServiceFactory(code="broadband")
    for i in range(n):
        factories.SubscriptionFactory(service=service, area=area, customer__email=f"c{i}@example.com")
    return [service, area]


def per_recipient(sink) -> collections.Counter:
    with sink.lock:
        return collections.Counter(m["To"] for m in sink.messages)


def test_a_worker_killed_mid_chunk_loses_nothing_and_duplicates_at_most_the_message_in_flight(
    worker_smtp, live_worker, ops
):
    service, area = affected_customers(CUSTOMERS)
    worker_smtp.delay = 0.03  # slow enough to kill the worker half-way
    factories.declare_incident(actor=ops, services=[service], areas=[area])
    wait_for(lambda: len(worker_smtp.messages) >= 30)
    os.killpg(live_worker.pid, signal.SIGKILL)
    live_worker.wait(10)
    time.sleep(0.5)  # a message accepted as the worker died lands now
    before = per_recipient(worker_smtp)
    # Guard against passing vacuously: the kill really happened mid-way, with rows still pending.
    assert 0 < len(before) < CUSTOMERS
    assert Notification.objects.filter(state="pending").exists()

    worker_smtp.delay = 0
    restarted = start_worker("outbox-restart")
    try:
        # What beat would do every 15 s: the sweep hands out rows once the dead worker's lease ends.
        def all_told() -> bool:
            if Notification.objects.filter(state="pending").exists():
                sweep_outbox.delay()
                time.sleep(0.5)
                return False
            return True

        wait_for(all_told, timeout=60)
    finally:
        stop(restarted)
    after = per_recipient(worker_smtp)
    assert set(after) == {f"c{i}@example.com" for i in range(CUSTOMERS)}  # nothing lost
    duplicated = {to: n for to, n in after.items() if n > 1}
    assert sum(n - 1 for n in duplicated.values()) <= WORKER_PROCESSES
    assert set(duplicated) <= set(before)  # only messages sent before the kill came twice
    # A duplicate carries the same Message-ID, so mail clients show it once.
    for to in duplicated:
        assert len({m["Message-ID"] for m in worker_smtp.to(to)}) == 1
    assert Notification.objects.filter(state="sent").count() == CUSTOMERS


def test_delivery_tasks_run_several_times_at_once_send_each_message_once(worker_smtp, live_worker, ops):
    service, area = affected_customers(60)
    factories.declare_incident(actor=ops, services=[service], areas=[area])  # enqueues deliveries
    for _ in range(4):
        deliver_outbox.delay()
    wait_for(lambda: not Notification.objects.filter(state="pending").exists())
    time.sleep(1)  # anything sent twice would have arrived by now
    counts = per_recipient(worker_smtp)
    assert len(counts) == 60
    assert set(counts.values()) == {1}
