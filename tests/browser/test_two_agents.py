"""Two agents with one ticket open, each in their own browser: each sees the other on the ticket
and sees them typing, live; of two "Take it" clicks the second is refused, naming who took it; the
ticket, a duplicate, is then merged into the customer's first one."""

from __future__ import annotations

import pytest

from tests import factories
from tests.browser.conftest import session_cookie
from tests.conftest import ROOT, make_user

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

ARTIFACTS = ROOT / "artifacts"


def test_two_agents_see_each_other_and_the_second_take_is_refused(chromium, asgi_server, alice, agent):
    _, browser = chromium
    bertil = make_user("bertil", "agent", first_name="Bertil", last_name="Berg")
    agent.first_name, agent.last_name = "Anna", "Andersson"
    agent.save()
    subscription = alice.subscriptions.get()
    first = factories.open_ticket(customer=alice, subscription=subscription, subject="No internet")
    ticket = factories.open_ticket(customer=alice, subscription=subscription)
    url = f"{asgi_server}/desk/tickets/{ticket.reference}/"

    pages = {}
    for user in (agent, bertil):
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
        context.add_cookies([session_cookie(user, asgi_server)])
        pages[user.username] = page = context.new_page()
        page.goto(url)
    anna, bertils = pages[agent.username], pages[bertil.username]

    anna.locator("#presence", has_text="Bertil Berg").wait_for(timeout=10_000)
    bertils.locator("#presence", has_text="Anna Andersson").wait_for(timeout=10_000)

    bertils.locator("textarea[name=body]").type("Hej Alice, ")
    anna.locator("#presence", has_text="Bertil Berg (typing)").wait_for(timeout=10_000)
    ARTIFACTS.mkdir(exist_ok=True)
    anna.screenshot(path=ARTIFACTS / "two-agents-presence.png", full_page=True)

    anna.get_by_role("button", name="Take it").click()
    # In place (htmx): done when her page says it is hers.
    anna.locator('[data-testid="ticket-assignee"]', has_text=agent.username).wait_for()
    bertils.get_by_role("button", name="Take it").click()
    refusal = bertils.get_by_text("Someone changed this ticket after you opened it")
    refusal.wait_for(timeout=10_000)
    assert f"Anna Andersson gave it to {agent.username}" in refusal.inner_text()
    assert "Notification sent" not in refusal.inner_text(), "a mail going out is no change to the ticket"
    bertils.screenshot(path=ARTIFACTS / "two-agents-refused.png", full_page=True)
    ticket.refresh_from_db()
    assert ticket.assignee == agent

    # Anna merges the duplicate into Alice's first ticket, from the notice on the page.
    anna.reload()
    anna.get_by_role("button", name=f"Merge this ticket into {first.reference}").click()
    anna.get_by_text(f"{ticket.reference} is merged into this ticket.").wait_for(timeout=10_000)
    assert anna.url.endswith(f"/desk/tickets/{first.reference}/")
    assert anna.get_by_text("No connection since this morning.").count() == 2, "both openings, one timeline"
    anna.screenshot(path=ARTIFACTS / "two-agents-merged.png", full_page=True)
    ticket.refresh_from_db()
    assert ticket.merged_into == first and ticket.status == "closed"
