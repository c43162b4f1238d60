"""/healthz is liveness (the process answers); /readyz is readiness (database, Redis) without raw
error text for anonymous callers; the workers' state is for staff, not the load balancer."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.core
def test_healthz_only_says_the_process_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


@pytest.mark.core
def test_readyz_reports_database_and_redis_to_anyone(client):
    body = client.get("/readyz").json()
    assert set(body["checks"]) == {"database", "redis"}
    assert body["checks"]["database"] == {"ok": True}


@pytest.mark.core
def test_readyz_stays_200_when_no_worker_has_reported_and_staff_see_the_worker(client, settings, agent):
    from django.core.cache import cache

    from supportdesk.health import HEARTBEAT_KEY

    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.delete(HEARTBEAT_KEY)
    assert client.get("/readyz").status_code == 200
    client.force_login(agent)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["ok"] is False


@pytest.mark.redis
def test_readyz_sees_redis(client, agent):
    client.force_login(agent)
    assert client.get("/readyz").json()["checks"]["redis"] == {"ok": True, "mode": "redis"}


@pytest.mark.redis
def test_redis_down_is_a_503_without_hosts_or_ports_for_anonymous_callers(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == {"ok": False}
    assert "127.0.0.1" not in response.content.decode()


@pytest.mark.redis
def test_staff_see_the_error_text(client, settings, agent):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    client.force_login(agent)
    assert client.get("/readyz").json()["checks"]["redis"]["error"]


@pytest.mark.worker
@pytest.mark.postgres
def test_a_live_worker_runs_tasks_through_redis_and_staff_see_it_on_readyz(client, live_worker, agent):
    from django.core.cache import cache

    from supportdesk.health import HEARTBEAT_KEY
    from supportdesk.tasks import heartbeat

    cache.delete(HEARTBEAT_KEY)
    heartbeat.delay()
    deadline = time.monotonic() + 15
    while cache.get(HEARTBEAT_KEY) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    client.force_login(agent)
    body = client.get("/readyz").json()
    assert body["checks"]["worker"]["ok"] is True, body
    assert body["ok"] is True
