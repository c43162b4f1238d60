from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.core
def test_healthz_reports_every_part(client, settings):
    body = client.get("/healthz").json()
    assert set(body["checks"]) == {"database", "redis", "worker"}
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.core
def test_healthz_is_503_when_no_worker_has_reported(client, settings):
    from django.core.cache import cache

    from supportdesk.health import HEARTBEAT_KEY

    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.delete(HEARTBEAT_KEY)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["ok"] is False


@pytest.mark.redis
def test_healthz_sees_redis(client):
    assert client.get("/healthz").json()["checks"]["redis"] == {"ok": True, "mode": "redis"}


@pytest.mark.redis
def test_healthz_reports_redis_down_without_crashing(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    body = client.get("/healthz").json()
    assert body["checks"]["redis"]["ok"] is False


@pytest.mark.worker
@pytest.mark.postgres
def test_a_live_worker_runs_tasks_through_redis_and_healthz_sees_it(client, live_worker):
    from django.core.cache import cache

    from supportdesk.health import HEARTBEAT_KEY
    from supportdesk.tasks import heartbeat

    cache.delete(HEARTBEAT_KEY)
    heartbeat.delay()
    deadline = time.monotonic() + 15
    while cache.get(HEARTBEAT_KEY) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    body = client.get("/healthz").json()
    assert body["checks"]["worker"]["ok"] is True, body
    assert body["ok"] is True
