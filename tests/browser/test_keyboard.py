"""Keyboard-first: an agent goes through the queue with j/k, opens a ticket with Enter, takes it
with a, writes a reply with r and sends it with Ctrl+Enter, picks a canned reply that arrives in the
customer's language, and finds the cheat-sheet behind ?. No inline script (CSP): keys.js."""

from __future__ import annotations

import pytest

from tests import factories
from tests.browser.conftest import session_cookie
from tests.conftest import ROOT
from tickets.models import Macro, TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

ARTIFACTS = ROOT / "artifacts"


def test_an_agent_works_a_ticket_from_the_keyboard(chromium, asgi_server, alice, bob, agent):
    _, browser = chromium
    older = factories.open_ticket(customer=bob, subject="Router blinks")
    ticket = factories.open_ticket(customer=alice, subject="Slow evenings")
    Macro.objects.create(
        name="Restart",
        texts={
            "sv": "Hej {customer_name}! Starta om routern. ({reference})",
            "en": "Hello {customer_name}, restart it.",
        },
    )
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    context.add_cookies([session_cookie(agent, asgi_server)])
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{asgi_server}/desk/queue/")

    page.keyboard.press("?")
    page.locator("#shortcuts").wait_for(state="visible")
    assert "assign the ticket to me" in page.locator("#shortcuts").inner_text()
    page.keyboard.press("Escape")
    page.locator("#shortcuts").wait_for(state="hidden")

    references = page.locator("tr[data-nav-row] td:nth-child(4) a").all_inner_texts()
    assert set(references) >= {older.reference, ticket.reference}
    target = references.index(ticket.reference)
    for _ in range(target + 1):
        page.keyboard.press("j")
    assert page.locator("tr.nav-selected").inner_text().count(ticket.reference) == 1
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/desk/tickets/{ticket.reference}/")

    # Taking it works in place (htmx): the working area is re-rendered, the page is not reloaded.
    page.keyboard.press("a")
    page.locator('[data-testid="ticket-assignee"]', has_text=agent.username).wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    ticket.refresh_from_db()
    assert ticket.assignee == agent

    page.get_by_test_id("macro").select_option(label="Restart")
    page.locator("#id_body", has_text="Hej Alice Andersson! Starta om routern.").wait_for()
    page.locator("body").press("Escape")
    page.keyboard.press("r")
    page.keyboard.press("Control+Enter")
    page.locator(".flash", has_text="Sent to the customer.").wait_for()
    reply = ticket.events.get(kind=TicketEvent.Kind.REPLY)
    assert reply.public and reply.body == f"Hej Alice Andersson! Starta om routern. ({ticket.reference})"

    # Sent in place, the cursor stays in the (emptied) reply box; Escape leaves it, as anywhere.
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "q"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "keyboard-ticket.png", full_page=True)
    assert not errors, errors
