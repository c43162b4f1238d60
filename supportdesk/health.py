"""Health of the parts the desk runs on, as /readyz reports it (/healthz is liveness only)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection

HEARTBEAT_KEY = "supportdesk:worker-heartbeat"


def record_heartbeat() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # report, never raise: this is the health page
        return {"ok": False, "vendor": connection.vendor, "error": str(exc)}


def check_redis() -> dict:
    if not settings.REDIS_URL:
        return {"ok": True, "mode": "embedded"}
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
        return {"ok": True, "mode": "redis"}
    except Exception as exc:
        return {"ok": False, "mode": "redis", "error": str(exc)}


def check_worker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "eager"}
    try:
        last = cache.get(HEARTBEAT_KEY)
    except Exception as exc:
        return {"ok": False, "mode": "celery", "error": str(exc)}
    if last is None:
        return {"ok": False, "mode": "celery", "error": "no heartbeat from any worker yet"}
    age = time.time() - last
    return {"ok": age <= settings.HEARTBEAT_MAX_AGE, "mode": "celery", "last_heartbeat_age_s": round(age, 1)}


def readiness(*, detail: bool) -> dict:
    """/readyz: can this web node serve (database and Redis)? The workers' state does not decide it:
    a load balancer would pull healthy web nodes when only the workers are down. ``detail`` (staff)
    adds the worker check and the error texts, which name hosts and ports."""
    checks = {"database": check_database(), "redis": check_redis()}
    ok = all(c["ok"] for c in checks.values())
    if not detail:
        return {"ok": ok, "checks": {name: {"ok": c["ok"]} for name, c in checks.items()}}
    checks["worker"] = check_worker()
    return {"ok": ok, "checks": checks}
