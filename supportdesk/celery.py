"""The Celery app. Every periodic schedule is defined here, in one place."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

app = Celery("supportdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_periodic_tasks(sender: Celery, **kwargs) -> None:
    from django.conf import settings

    sender.conf.beat_schedule = {
        "heartbeat": {"task": "supportdesk.tasks.heartbeat", "schedule": settings.HEARTBEAT_INTERVAL},
        "idempotency-keys-purge": {"task": "supportdesk.tasks.purge_idempotency_keys", "schedule": 3600.0},
        "sla-breaches": {"task": "tickets.tasks.mark_sla_breaches", "schedule": 60.0},
        "alerts-sweep": {"task": "notifications.tasks.sweep_pending_alerts", "schedule": 20.0},
        # Retries with backoff and the rows of killed workers: due rows in the outbox get a sender.
        "outbox-sweep": {"task": "notifications.tasks.sweep_outbox", "schedule": 15.0},
        # Resolved incidents whose linked tickets were not all replied to (worker killed, broker down).
        "resolutions-sweep": {"task": "incidents.tasks.sweep_unclosed_resolutions", "schedule": 60.0},
        # Surges of similar tickets no incident explains become proposed incidents (incidents/surge.py).
        "surge-detect": {"task": "incidents.tasks.detect_surges", "schedule": 60.0},
        # Customers' e-mail from the intake IMAP mailboxes (INTAKE_IMAP_URL); a no-op when unset.
        # The dashboard's hourly ticket rollup: the last closed hours again, and the watermark moved.
        "dashboard-rollup": {"task": "dashboard.tasks.refresh_rollup", "schedule": 60.0},
        "intake-poll": {"task": "tickets.tasks.poll_mailboxes", "schedule": settings.INTAKE_POLL_INTERVAL},
    }
