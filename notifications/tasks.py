"""Celery adapters for alerts: load by id, call a service. Retries come from the sweep, not Celery."""

from __future__ import annotations

import logging

from celery import shared_task

from notifications import services

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def fan_out_alert(alert_id: int) -> bool:
    """Push one alert to its audience. Idempotent: an already-pushed alert is a no-op."""
    return services.alert_push(alert_id)


@shared_task(ignore_result=True)
def fan_out_alerts(alert_ids: list[int]) -> int:
    """Push a batch of alerts; each is idempotent on its own, so a retried batch re-sends nothing."""
    return sum(services.alert_push(alert_id) for alert_id in alert_ids)


@shared_task(ignore_result=True)
def sweep_pending_alerts() -> int:
    """Re-enqueue alerts whose push never happened (broker down at commit, worker killed)."""
    ids = services.pending_alert_ids()
    services.enqueue_fan_out(ids)
    if ids:
        log.info("re-enqueued %d unpushed alerts", len(ids))
    return len(ids)
