from __future__ import annotations

from celery import shared_task

from supportdesk import health


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Record that a worker is alive; /healthz reads it. Idempotent: it only overwrites a timestamp."""
    health.record_heartbeat()


@shared_task(ignore_result=True)
def purge_idempotency_keys() -> int:
    """Delete Idempotency-Keys past their expiry. Idempotent: a second run finds nothing."""
    from core.idempotency import purge_expired

    return purge_expired()
