"""No page is ever wider than the viewport: long unbroken text wraps, for staff and customers."""

from __future__ import annotations

import pytest

from tests import factories
from tests.browser.conftest import session_cookie
from tickets.services import ticket_comment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UNBROKEN = "x" * 10_000


def page_width(browser, base_url: str, user, path: str, width: int) -> tuple[int, int]:
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.add_cookies([session_cookie(user, base_url)])
    page = context.new_page()
    page.goto(f"{base_url}{path}")
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    context.close()
    return tuple(widths)


def test_a_10000_character_comment_does_not_widen_the_ticket_pages(chromium, live_server, agent, alice):
    _, browser = chromium
    ticket = factories.open_ticket(customer=alice, subject="y" * 200, description=UNBROKEN)
    ticket_comment(ticket=ticket, actor=agent, body=UNBROKEN, public=True)
    scroll, viewport = page_width(browser, live_server.url, agent, f"/desk/tickets/{ticket.reference}/", 1366)
    assert scroll <= viewport
    scroll, viewport = page_width(
        browser, live_server.url, alice.user, f"/my/tickets/{ticket.reference}/", 390
    )
    assert scroll <= viewport
