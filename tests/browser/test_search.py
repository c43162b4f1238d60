"""The top bar's search in a real browser: an agent types a ticket's SD- reference and lands on it."""

from __future__ import annotations

import pytest

from tests import factories
from tests.browser.conftest import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_ticket_is_found_by_its_sd_reference_from_the_top_bar(chromium, live_server, agent, alice):
    _, browser = chromium
    ticket = factories.open_ticket(customer=alice, subject="Fibre box blinks red")
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    context.add_cookies([session_cookie(agent, live_server.url)])
    page = context.new_page()
    page.goto(f"{live_server.url}/desk/queue/")
    box = page.get_by_role("searchbox", name="Search")
    box.fill(ticket.reference.lower())
    box.press("Enter")
    page.wait_for_url(f"**/desk/tickets/{ticket.reference}/")
    assert "Fibre box blinks red" in page.locator("h1").inner_text()
    page.screenshot(path="/tmp/agentday-search-ticket.png")
    # Text search from the same box: grouped results, and the page no wider than the window.
    page.get_by_role("searchbox", name="Search").fill("blinks")
    page.get_by_role("searchbox", name="Search").press("Enter")
    page.wait_for_url("**/desk/search/?q=blinks")
    assert page.locator("#found-tickets").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path="/tmp/agentday-search-results.png")
    context.close()
