"""Celery adapters for alerts and the e-mail outbox: call a service. Retries come from the sweeps, not
Celery countdowns (rows hold their own ``next_attempt_at``)."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings

from notifications import outbox, services

log = logging.getLogger(__name__)

# A delivery task sends for at most this long, then re-enqueues itself: well under the task time limit.
DELIVER_BUDGET_SECONDS = 60


@shared_task(ignore_result=True)
def fan_out_alert(alert_id: int) -> bool:
    """Push one alert to its audience. Idempotent: an already-pushed alert is a no-op."""
    return services.alert_push(alert_id)


@shared_task(ignore_result=True)
def fan_out_alerts(alert_ids: list[int]) -> int:
    """Push a batch of alerts in one query, one event loop and one UPDATE (``services.alerts_push``);
    already-pushed ones are skipped, so a retried batch re-sends nothing."""
    return services.alerts_push(alert_ids)


@shared_task(ignore_result=True)
def sweep_pending_alerts() -> int:
    """Re-enqueue alerts whose push never happened (broker down at commit, worker killed)."""
    ids = services.pending_alert_ids()
    services.enqueue_fan_out(ids)
    if ids:
        log.info("re-enqueued %d unpushed alerts", len(ids))
    return len(ids)


@shared_task(ignore_result=True)
def deliver_outbox() -> int:
    """Send due outbox rows, chunk after chunk, until none is due or the time budget is spent (then
    hand over to a fresh task). Idempotent: rows are claimed, so a duplicate task finds nothing."""
    deadline = time.monotonic() + DELIVER_BUDGET_SECONDS
    sent = 0
    while True:
        result = outbox.outbox_deliver()
        sent += result.sent
        if result.claimed == 0 or (result.retry and not result.sent):
            return sent  # nothing due, or the server refuses now: the sweep comes back later
        if time.monotonic() > deadline:
            deliver_outbox.delay()
            return sent


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Start senders for rows that are due: retries whose backoff ended, rows of a killed worker whose
    lease ran out, rows whose on-commit enqueue failed."""
    if not outbox.has_due_rows():
        return 0
    return outbox.enqueue_delivery(settings.NOTIFICATION_CHUNK_SIZE * settings.NOTIFICATION_PARALLEL)
