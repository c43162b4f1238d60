"""Celery task outcomes for /metrics: succeeded, failed and retried per task name.

Workers are other processes (often other hosts) than the web process Prometheus scrapes, and a
prefork worker is several processes, so per-process prometheus-client counters would each see a
slice. The outcomes go to one Redis hash instead (``HINCRBY``, atomic, one round trip per task), and
``dashboard.metrics`` reads it whole (``HGETALL``) at scrape time: every web process reports the same
totals, they survive worker restarts, and nothing needs prometheus-client's multiprocess directory.
A Redis flush resets them, which Prometheus' ``rate()`` treats as a counter reset.

Receivers are connected in ``DashboardConfig.ready()``; without ``REDIS_URL`` (the embedded default,
eager Celery) they record nothing. A Redis error is logged and swallowed: metrics never fail a task.
"""

from __future__ import annotations

import logging
from functools import cache

from celery.signals import task_failure, task_retry, task_success
from django.conf import settings

log = logging.getLogger(__name__)

KEY = "supportdesk:metrics:celery-tasks"
OUTCOMES = ("succeeded", "failed", "retried")


@cache
def _client(url: str):
    import redis

    # Short timeouts: a task waits at most this long for its metric when Redis is in trouble.
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def record(task_name: str, outcome: str) -> None:
    url = settings.REDIS_URL
    if not url:
        return
    try:
        _client(url).hincrby(KEY, f"{task_name}|{outcome}", 1)
    except Exception:
        log.warning("task metrics: could not record %s %s", task_name, outcome, exc_info=True)


def read(client) -> dict[tuple[str, str], int]:
    """``{(task name, outcome): count}`` from the hash, through the caller's Redis client."""
    out = {}
    for field, value in client.hgetall(KEY).items():
        name, _sep, outcome = field.decode().rpartition("|")
        if outcome in OUTCOMES:
            out[(name, outcome)] = int(value)
    return out


def _succeeded(sender=None, **kwargs) -> None:
    record(getattr(sender, "name", str(sender)), "succeeded")


def _failed(sender=None, **kwargs) -> None:
    record(getattr(sender, "name", str(sender)), "failed")


def _retried(sender=None, **kwargs) -> None:
    record(getattr(sender, "name", str(sender)), "retried")


def connect() -> None:
    task_success.connect(_succeeded, weak=False, dispatch_uid="supportdesk-task-succeeded")
    task_failure.connect(_failed, weak=False, dispatch_uid="supportdesk-task-failed")
    task_retry.connect(_retried, weak=False, dispatch_uid="supportdesk-task-retried")
