from __future__ import annotations

from celery import shared_task

from tickets import services


@shared_task(ignore_result=False)
def mark_sla_breaches() -> int:
    """Periodic: flag open tickets past their SLA. Idempotent (flags only unflagged ones)."""
    return services.tickets_flag_sla_breaches()
