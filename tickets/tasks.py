from __future__ import annotations

from celery import shared_task

from tickets import services


@shared_task(ignore_result=False)
def mark_sla_breaches() -> int:
    """Periodic: flag open tickets past their SLA. Idempotent (flags only unflagged ones)."""
    return services.tickets_flag_sla_breaches()


@shared_task(ignore_result=False)
def poll_mailboxes() -> dict:
    """Periodic: import new e-mail from the intake mailboxes. Safe to overlap or retry: every message
    is imported once (unique key) and flagged on the server only after its import committed."""
    from tickets import mailboxes  # imap-tools only where polling runs

    result = mailboxes.poll_all()
    return {"seen": result.seen, "imported": result.imported, "duplicates": result.duplicates}
