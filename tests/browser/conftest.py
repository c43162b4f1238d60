"""Headless Chromium through Playwright, and logged-in sessions for it. The daphne server the
browser talks to is the ``asgi_server`` fixture (tests/conftest.py); tests/conftest.py also skips
these tests, or fails the run in CI, when Chromium is missing."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from tests.conftest import CHROMIUM, REQUIRE_SERVICES, ROOT
from tests.factories import login_session
from tests.incidents.conftest import catalogue, ticket_in  # noqa: F401 - fixtures for the dashboard chart
from tests.notifications.conftest import smtp  # noqa: F401 - the local SMTP server, for the customer story

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def chromium(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield p, browser
        browser.close()
        # Queries made while Playwright's loop runs use a connection of their own (Django keys
        # connections by context); close it, or the test database cannot be dropped at the end.
        from django.db import connections

        connections.close_all()


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def axe_source() -> str:
    """axe-core's script (from npm: ``npm ci`` installs the version package.json pins), for the
    customer pages' accessibility checks (``test_customer_pages_phone.check``)."""
    if not AXE.exists():
        if REQUIRE_SERVICES:
            pytest.fail(f"axe-core is missing at {AXE}: run `npm ci` in the project root")
        pytest.skip(f"axe-core is missing at {AXE} (npm ci)")
    return AXE.read_text()


def session_cookie(user, base_url: str) -> dict:
    """A logged-in session made directly in the database, as a Playwright cookie."""
    return {"name": django_settings.SESSION_COOKIE_NAME, "value": login_session(user), "url": base_url}
