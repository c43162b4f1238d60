"""The dashboard's periodic work (scheduled in supportdesk/celery.py)."""

from __future__ import annotations

import logging

from celery import shared_task

from dashboard.rollup import rollup_refresh

log = logging.getLogger(__name__)


@shared_task
def refresh_rollup() -> int:
    """Periodic: recompute the last closed hours of the ticket rollup and move its watermark.
    Idempotent; a missed or doubled run is harmless (dashboard/rollup.py)."""
    done = rollup_refresh()
    log.info(
        "rollup %s → %s: %d rows written, %d removed", done.since, done.until, done.written, done.removed
    )
    return done.written
