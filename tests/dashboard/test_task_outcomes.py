"""/metrics counts Celery task outcomes (succeeded, failed, retried per task name) across processes:
the workers write them to Redis through Celery's signals, any web process reads the totals."""

from __future__ import annotations

import time

import pytest
from celery import shared_task
from django.conf import settings as django_settings

from dashboard import task_metrics
from tests.dashboard.test_metrics import TOKEN, samples, scrape

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.REDIS_URL = django_settings.REDIS_URL
    settings.METRICS_CELERY_QUEUES = ["celery"]


def outcomes(client) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)["task"], dict(labels)["outcome"]): v
        for (name, labels), v in samples(scrape(client)).items()
        if name == "supportdesk_celery_tasks_total"
    }


_attempts: list[int] = []


@shared_task(bind=True, max_retries=3, default_retry_delay=0)
def flaky(self) -> str:
    """Fails its first attempt with a retry, then succeeds (a test task, run in-process)."""
    _attempts.append(self.request.retries)
    if self.request.retries == 0:
        raise self.retry(countdown=0)
    return "ok"


def test_a_retry_and_the_success_after_it_are_counted(client, metrics_on):
    name = flaky.name
    before = outcomes(client)
    assert flaky.apply(throw=False).get() == "ok"  # Celery's own tracer, in this process
    after = outcomes(client)
    assert after[(name, "retried")] - before.get((name, "retried"), 0) == 1
    assert after[(name, "succeeded")] - before.get((name, "succeeded"), 0) == 1


def test_a_redis_outage_never_fails_the_task(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    task_metrics.record("anything", "succeeded")  # logs, does not raise


@pytest.mark.worker
@pytest.mark.postgres
def test_outcomes_of_tasks_run_by_a_live_worker_reach_the_scrape(client, metrics_on, live_worker):
    from supportdesk.celery import app

    ok, bad = "dashboard.tasks.refresh_rollup", "incidents.tasks.close_the_loop"
    before = outcomes(client)
    assert app.send_task(ok).get(timeout=30) == 0  # an empty desk: nothing to roll up
    # Arguments the task does not take: it fails in the worker (send_task skips the client-side check).
    app.send_task(bad, args=[1, 2, 3])
    deadline = time.monotonic() + 30  # the failure is recorded by the worker, a moment later
    while time.monotonic() < deadline:
        after = outcomes(client)
        if after.get((bad, "failed"), 0) > before.get((bad, "failed"), 0) and after.get(
            (ok, "succeeded"), 0
        ) > before.get((ok, "succeeded"), 0):
            break
        time.sleep(0.2)
    assert after[(ok, "succeeded")] - before.get((ok, "succeeded"), 0) == 1
    assert after[(bad, "failed")] - before.get((bad, "failed"), 0) == 1
