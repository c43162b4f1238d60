"""The queue page swaps in a new ticket's row by itself (the alert socket's "queue-changed" hint),
and offers a refresh instead while the agent is working the list."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from tests import factories
from tests.browser.conftest import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]


def open_through_the_api(context, base_url: str, agent, customer, subject: str):
    """Opened by the desk's server process, as a colleague's phone call would be: the hint it
    sends reaches this page's socket through the shared channel layer."""
    token, _ = Token.objects.get_or_create(user=agent)
    return context.request.post(
        f"{base_url}/api/v1/tickets/",
        headers={"Authorization": f"Token {token.key}"},
        data={
            "customer": customer.number,
            "channel": "phone",
            "subject": subject,
            "description": "No signal.",
        },
    )


def test_the_queue_page_shows_a_new_ticket_without_reloading(chromium, asgi_server, agent, alice, bob):
    _, browser = chromium
    cache.delete_many(["queue-hint:first-line", "queue-hint:*"])
    factories.open_ticket(customer=bob, subject="Already waiting")
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    context.add_cookies([session_cookie(agent, asgi_server)])
    page = context.new_page()
    page.goto(f"{asgi_server}/desk/queue/")
    page.get_by_text("Already waiting").wait_for()
    page.wait_for_function("() => localStorage.length > 0", timeout=10_000)  # the alert socket caught up
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    cache.delete_many(["queue-hint:first-line", "queue-hint:*"])  # no window left from the set-up's ticket
    opened = open_through_the_api(context, asgi_server, agent, alice, "Arrived while watching")
    assert opened.status == 201, opened.text()

    page.get_by_text("Arrived while watching").wait_for(timeout=15_000)
    assert not navigations, "the rows were swapped in, the page was not reloaded"

    # Ticking a ticket means the agent is working the list: a new arrival offers a refresh instead.
    page.locator("#queue-rows input[type=checkbox]").first.check()
    cache.delete("queue-hint:first-line")
    assert open_through_the_api(context, asgi_server, agent, alice, "Arrived while ticking").status == 201
    page.locator("#queue-stale").wait_for(state="visible", timeout=15_000)
    assert page.get_by_text("Arrived while ticking").count() == 0
