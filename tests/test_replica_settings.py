"""The read replica, pgbouncer's setting and the Channels shards come from the environment and are off
by default (supportdesk/settings.py): read in a fresh interpreter, as tests/test_settings_modes.py
does. The routing itself is proved against a real replica in tests/scale/test_replica.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core import replica
from core.replica import ReplicaRouter, RoutingState
from tests.test_settings_modes import ROOT, _env

pytestmark = pytest.mark.core

OUR_VARS = (
    "DATABASE_REPLICA_URL",
    "REPLICA_MAX_LAG_SECONDS",
    "REPLICA_LAG_CHECK_SECONDS",
    "REPLICA_READ_YOUR_WRITES_SECONDS",
    "REPLICA_CONNECT_TIMEOUT",
    "DISABLE_SERVER_SIDE_CURSORS",
    "CHANNEL_LAYER_REDIS_URLS",
)

READ = """
import json
import django
django.setup()
from django.conf import settings
from core.replica import replica_status
dbs = settings.DATABASES
print(json.dumps({
    "aliases": sorted(dbs),
    "replica": {k: dbs["replica"].get(k) for k in ("HOST", "PORT", "NAME", "TEST", "OPTIONS")} if "replica" in dbs else None,
    "routers": settings.DATABASE_ROUTERS,
    "read_your_writes": settings.REPLICA_READ_YOUR_WRITES_SECONDS,
    "no_server_cursors": [dbs[a].get("DISABLE_SERVER_SIDE_CURSORS") for a in sorted(dbs)],
    "hosts": [h["address"] for h in settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts", [])],
    "status": replica_status() is None,
}))
"""


def read(**values: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in _env(**values).items() if k not in OUR_VARS or k in values}
    return subprocess.run(
        [sys.executable, "-c", READ], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def settings_with(**values: str) -> dict:
    proc = read(**values)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_nothing_set_means_one_database_no_router_and_no_replica():
    s = settings_with()
    assert s["aliases"] == ["default"]
    assert s["routers"] == []
    assert s["status"] is True  # no lag to measure, nothing shown
    assert s["hosts"] == []  # the in-memory layer


def test_a_replica_url_adds_a_mirrored_alias_and_the_router():
    s = settings_with(
        DATABASE_URL="postgres://desk:pw@db.internal:5432/supportdesk",
        DATABASE_REPLICA_URL="postgres://desk:pw@replica.internal:6432/supportdesk",
        REPLICA_MAX_LAG_SECONDS="20",
    )
    assert s["aliases"] == ["default", "replica"]
    assert s["replica"]["HOST"] == "replica.internal"
    assert s["replica"]["PORT"] == 6432
    assert s["replica"]["TEST"]["MIRROR"] == "default"  # tests read the one test database
    assert s["replica"]["OPTIONS"]["connect_timeout"] == 2
    assert s["routers"] == ["core.replica.ReplicaRouter"]
    assert s["read_your_writes"] == 25  # the bound plus the check period


def test_a_replica_beside_sqlite_is_refused():
    proc = read(DATABASE_REPLICA_URL="postgres://desk:pw@replica.internal:5432/supportdesk")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "DATABASE_REPLICA_URL" in proc.stderr


def test_pgbouncer_setting_reaches_both_aliases():
    s = settings_with(
        DATABASE_URL="postgres://desk:pw@pgbouncer:6432/supportdesk",
        DATABASE_REPLICA_URL="postgres://desk:pw@pgbouncer-replica:6432/supportdesk",
        DISABLE_SERVER_SIDE_CURSORS="1",
    )
    assert s["no_server_cursors"] == [True, True]


def test_the_channel_layer_is_sharded_over_the_listed_servers():
    one = settings_with(REDIS_URL="redis://redis:6379/0")
    assert one["hosts"] == ["redis://redis:6379/0"]
    two = settings_with(
        REDIS_URL="redis://redis:6379/0",
        CHANNEL_LAYER_REDIS_URLS="redis://redis:6379/0,redis://redis-channels:6379/0",
    )
    assert two["hosts"] == ["redis://redis:6379/0", "redis://redis-channels:6379/0"]


def test_reads_go_to_the_replica_only_inside_a_replica_view_and_only_until_the_request_writes():
    """The router's rule, in this process (no query is made)."""
    router = ReplicaRouter()
    assert router.db_for_read(None) == "default"  # no request: a task, a command
    token = replica._state.set(RoutingState())
    try:
        assert router.db_for_read(None) == "default"  # a request, outside @replica_reads
        replica._state.get().replica = True
        assert router.db_for_read(None) == "replica"
        assert router.db_for_write(None) == "default"
        assert router.db_for_read(None) == "default"  # it wrote: the rest of it reads its write
        assert replica._state.get().used_replica is True
    finally:
        replica._state.reset(token)
    assert router.allow_migrate("replica", "tickets") is False
    assert router.allow_migrate("default", "tickets") is None
