"""The Channels layer sharded over two real Redis servers (``CHANNEL_LAYER_REDIS_URLS``).

channels_redis keeps a group's members on one shard and a channel's messages on one shard (by a
hash of the name). A shard that restarts comes back empty: its groups and queued messages are gone.
An alert pushed while it is down is still a row, unpushed (its fan-out task fails); once the
consumers have re-joined (every hello does) the sweep — notifications.tasks.sweep_pending_alerts,
which beat runs — pushes it. Proved with a real worker: every alert reaches every browser once.
"""

from __future__ import annotations

import uuid

import pytest
import redis
from channels.layers import channel_layers
from django.conf import settings as django_settings

from dashboard import task_metrics
from notifications.models import Alert
from notifications.services import STAFF_GROUP
from notifications.tasks import fan_out_alert, sweep_pending_alerts
from supportdesk.celery import app
from tests import processes
from tests.conftest import REQUIRE_SERVICES
from tests.notifications.conftest import declare
from tests.notifications.test_faults import backdate_unpushed, wait_for
from tests.scale import redis_shards
from tests.scale.redis_shards import Listener, RedisServer

pytestmark = [pytest.mark.scale, pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


@pytest.fixture
def shards(settings, monkeypatch) -> list[RedisServer]:
    """Two Redis servers as the Channels layer, for this process and the workers it starts."""
    if why := redis_shards.missing():
        (pytest.fail if REQUIRE_SERVICES else pytest.skip)(why)
    servers = [RedisServer(), RedisServer()]
    try:
        for server in servers:
            server.start()
        urls = [server.url for server in servers]
        settings.CHANNEL_LAYERS = redis_shards.layer_config(urls)
        channel_layers.backends.clear()
        monkeypatch.setenv("CHANNEL_LAYER_REDIS_URLS", ",".join(urls))  # passed on by processes.child_env
        yield servers
    finally:
        for server in servers:
            server.destroy()


def failed_fan_outs() -> int:
    """Fan-out tasks that failed, as the workers count them for /metrics (dashboard/task_metrics.py)."""
    counts = task_metrics.read(redis.Redis.from_url(django_settings.REDIS_URL))
    return counts.get((fan_out_alert.name, "failed"), 0)


def alert_ids(events: list[dict], token: str) -> list[int]:
    return [e["alert"]["id"] for e in events if token in e["alert"]["incident"]["title"]]


def test_a_restarted_shard_loses_no_alert_and_doubles_none(transactional_db, settings, shards, ops):
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.control.purge()
    token = uuid.uuid4().hex[:8]
    # Two browsers on two web processes, one's channel on each shard; both in the staff group.
    browsers = [Listener(shard=n, groups=[STAFF_GROUP]) for n in (0, 1)]
    restarted = shards[browsers[0].shard_of(STAFF_GROUP)]  # the shard that keeps the group's members
    worker = processes.start_worker("shards")
    try:
        before = [declare(actor=ops, title=f"Before {n} {token}") for n in range(2)]
        expected = sorted(Alert.objects.filter(incident__in=before).values_list("pk", flat=True))
        for browser in browsers:
            assert sorted(alert_ids(browser.drain(timeout=20, until=2), token)) == expected

        restarted.stop()
        failed = failed_fan_outs()
        during = [declare(actor=ops, title=f"During {n} {token}") for n in range(3)]
        # The worker tried each push and failed on the dead shard: the alerts are rows, unpushed.
        wait_for(lambda: failed_fan_outs() >= failed + 3, timeout=60)
        missed = sorted(Alert.objects.filter(incident__in=during).values_list("pk", flat=True))
        assert len(missed) == 3
        assert Alert.objects.filter(pk__in=missed, pushed_at__isnull=True).count() == 3

        restarted.start()  # empty: the group has no members any more
        for browser in browsers:
            browser.join()  # their next hello re-joins the groups
        backdate_unpushed()
        sweep_pending_alerts.delay()

        for browser in browsers:
            received = alert_ids(browser.drain(timeout=20, until=3), token)
            received += alert_ids(browser.drain(timeout=1), token)  # a second copy would show here
            assert sorted(received) == missed  # each once: nothing lost, nothing doubled
        assert not Alert.objects.filter(pushed_at__isnull=True).exists()
    finally:
        processes.stop(worker)
        for browser in browsers:
            browser.close()
        app.control.purge()
