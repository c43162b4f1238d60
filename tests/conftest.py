"""Shared fixtures: named personas, service guards, a live Celery worker and a daphne server.

Services: tests marked ``postgres``, ``redis`` or ``worker`` need the real thing, ``browser``
tests need Chromium (and Playwright), ``imap`` tests Dovecot (started here, on loopback), ``haproxy`` tests
Debian's haproxy (started by tests/scale/web.py). Locally they skip, saying what is missing; in CI (``CI`` or
``SUPPORTDESK_REQUIRE_SERVICES`` set) a missing one is an error, so a green run always means they ran.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User

from core import roles
from tests import factories, processes
from tests.scale.web import haproxy_binary

ROOT = processes.ROOT
# Debian's Chromium, which CI installs (.ci/run); SUPPORTDESK_CHROMIUM points elsewhere.
CHROMIUM = Path(os.environ.get("SUPPORTDESK_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_SERVICES = bool(os.environ.get("CI") or os.environ.get("SUPPORTDESK_REQUIRE_SERVICES"))


def _redis_up() -> bool:
    if not django_settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(django_settings.REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


def _browser_missing() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (make install)"
    return ""


def _dovecot_missing() -> str:
    from tests import imap

    return "" if imap.dovecot_binary() else "no dovecot (apt-get install dovecot-imapd)"


@pytest.hookimpl(trylast=True)  # after -m / -k have deselected what this run does not need
def pytest_collection_modifyitems(config, items):
    missing = {}
    if not django_settings.USING_POSTGRES:
        missing["postgres"] = "DATABASE_URL does not point at PostgreSQL"
    if not _redis_up():
        missing["redis"] = missing["worker"] = "REDIS_URL is unset or Redis does not answer"
    if why := _browser_missing():
        missing["browser"] = why
    if not shutil.which("prometheus-alertmanager"):
        missing["alertmanager"] = "Debian's prometheus-alertmanager is not installed"
    if why := _dovecot_missing():
        missing["imap"] = why
    if not haproxy_binary():
        missing["haproxy"] = "Debian's haproxy is not installed (apt-get install haproxy)"
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
def _default_language():
    """Each test starts in the desk's default language: a request made in an earlier test (a Swedish
    customer's) leaves its language active in this thread otherwise."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Each test gets its own channel layer instance: channels_redis ties an instance's receiving to
    the event loop that first received on it, and every async test (and tests.notifications'
    Inbox) runs its own loop."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


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


# --- real processes: a Celery worker, daphne (tests/processes.py) -------------------------------


@pytest.fixture
def live_worker(transactional_db, settings):
    """A real ``celery worker`` process on Redis, using the test database. Yields the Popen."""
    from supportdesk.celery import app

    if not _redis_up():
        pytest.fail("live_worker needs Redis (REDIS_URL)")
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.control.purge()
    proc = processes.start_worker()
    yield proc
    processes.stop(proc)


@pytest.fixture
def asgi_server(transactional_db):
    """daphne serving supportdesk.asgi (websockets included) on the test database; yields its base URL."""
    proc, base_url = processes.start_daphne()
    yield base_url
    processes.stop(proc)


@pytest.fixture(scope="session")
def imap_server():
    """A throw-away Dovecot IMAP server on a free loopback port (any user, password "secret", each
    user its own empty maildir): ``imap_server.mailbox()`` hands out a fresh one per test."""
    from tests import imap

    server = imap.DovecotServer()
    server.start()
    yield server
    server.stop()
