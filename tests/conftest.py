"""Shared fixtures: named personas, service guards, a live Celery worker.

Services: tests marked ``postgres``, ``redis`` or ``worker`` need the real thing. Locally they skip
when it is missing; in CI (``CI`` or ``SUPPORTDESK_REQUIRE_SERVICES`` set) a missing service is an
error, so a green run always means they ran.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User

from core import roles
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = bool(os.environ.get("CI") or os.environ.get("SUPPORTDESK_REQUIRE_SERVICES"))


def _redis_up() -> bool:
    if not django_settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(django_settings.REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.hookimpl(trylast=True)  # after -m / -k have deselected what this run does not need
def pytest_collection_modifyitems(config, items):
    missing = {}
    if not django_settings.USING_POSTGRES:
        missing["postgres"] = "DATABASE_URL does not point at PostgreSQL"
    if not _redis_up():
        missing["redis"] = missing["worker"] = "REDIS_URL is unset or Redis does not answer"
    needed = {m for item in items for m in missing if item.get_closest_marker(m)}
    if needed and REQUIRE_SERVICES:
        raise pytest.UsageError(
            "CI requires these services, and they are missing: "
            + "; ".join(f"{m} ({missing[m]})" for m in sorted(needed))
        )
    for item in items:
        for marker, why in missing.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=f"needs {marker}: {why}"))
                break


@pytest.fixture(autouse=True)
def _eager_celery_by_default():
    """Unit tests run tasks in-process right after commit; ``live_worker`` turns this off."""
    from supportdesk.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


# --- personas ----------------------------------------------------------------------------------


def make_user(username: str, *role_names: str, **extra) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, **extra)
    # get_or_create: transactional tests flush the groups the migration made.
    user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in role_names))
    return user


@pytest.fixture
def agent(db) -> User:
    """Anna, first-line agent."""
    return make_user("anna", roles.AGENT, first_name="Anna", last_name="Agent")


@pytest.fixture
def tech(db) -> User:
    """Tomas, second-line tech."""
    return make_user("tomas", roles.TECH, first_name="Tomas", last_name="Tech")


@pytest.fixture
def ops(db) -> User:
    """Olga, operations."""
    return make_user("olga", roles.OPS, first_name="Olga", last_name="Ops")


@pytest.fixture
def admin_user(db) -> User:
    return make_user("adam", roles.ADMIN, is_staff=True)


@pytest.fixture
def outsider(db) -> User:
    """Logged in, but holds no role."""
    return make_user("otto")


@pytest.fixture
def alice(db):
    """A customer with a login and a fibre subscription in Stockholm."""
    user = make_user("alice", roles.CUSTOMER)
    customer = factories.CustomerFactory(user=user, name="Alice Andersson", language="sv")
    factories.SubscriptionFactory(customer=customer)
    return customer


@pytest.fixture
def bob(db):
    """Another customer; must never see Alice's things."""
    user = make_user("bob", roles.CUSTOMER)
    customer = factories.CustomerFactory(user=user, name="Bob Berg", language="fi")
    factories.SubscriptionFactory(customer=customer)
    return customer


# --- a live Celery worker ------------------------------------------------------------------------


@pytest.fixture
def live_worker(transactional_db, settings):
    """A real ``celery worker`` process on Redis, using the test database. Yields the Popen."""
    from django.db import connection

    from supportdesk.celery import app

    if not _redis_up():
        pytest.fail("live_worker needs Redis (REDIS_URL)")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        if django_settings.USING_POSTGRES
        else f"sqlite:///{db['NAME']}",
        "REDIS_URL": django_settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "HEARTBEAT_INTERVAL": "1",
    }
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.control.purge()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "supportdesk",
            "worker",
            "-l",
            "WARNING",
            "-c",
            "2",
            "-P",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            break
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited with {proc.returncode}")
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("celery worker did not answer a ping within 30 s")
    yield proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
