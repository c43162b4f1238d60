"""/metrics reads the Celery queue length from the real broker (Redis): not part of the embedded
core run, which has no broker."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from tests.dashboard.test_metrics import TOKEN, samples, scrape

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def test_celery_queue_length_is_read_from_the_broker(client, settings):
    import redis

    settings.METRICS_TOKEN = TOKEN
    settings.REDIS_URL = django_settings.REDIS_URL
    settings.METRICS_CELERY_QUEUES = ["dashboard-test-queue"]
    r = redis.Redis.from_url(settings.REDIS_URL)
    r.delete("dashboard-test-queue")
    r.rpush("dashboard-test-queue", "a", "b", "c")
    try:
        got = samples(scrape(client))
    finally:
        r.delete("dashboard-test-queue")
    assert got[("supportdesk_celery_queue_length", (("queue", "dashboard-test-queue"),))] == 3
    assert got[("supportdesk_celery_broker_up", ())] == 1
