"""Celery adapters for incidents: load by id, call a service. Retries come from the sweep."""

from __future__ import annotations

import logging

from celery import shared_task

from incidents import services

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def close_the_loop(incident_id: int) -> int:
    """Reply to and resolve a resolved incident's linked open tickets. Idempotent: each ticket gets
    one resolution reply however often this runs (``incident_close_linked_tickets``)."""
    done = services.incident_close_linked_tickets(incident_id=incident_id)
    if done.replied:
        log.info(
            "incident %s: %d tickets replied to, %d resolved, %d kept open",
            incident_id,
            done.replied,
            done.resolved,
            done.kept_open,
        )
    return done.replied


@shared_task(ignore_result=True)
def sweep_unclosed_resolutions() -> int:
    """Periodic: re-enqueue close_the_loop for resolutions whose tickets were not all reached."""
    ids = services.resolutions_left_open()
    for incident_id in ids:
        close_the_loop.delay(incident_id)
    if ids:
        log.info("re-enqueued close_the_loop for %d resolved incidents", len(ids))
    return len(ids)


@shared_task(ignore_result=True)
def detect_surges() -> int:
    """Periodic (every minute): propose incidents from surges of similar tickets (incidents/surge.py).
    Idempotent: a second run in the same minute grows what the first proposed, never proposes twice."""
    from incidents import surge

    result = surge.detect_surges()
    if result.proposed:
        log.info("surge detection proposed %d incidents", len(result.proposed))
    return len(result.proposed)
