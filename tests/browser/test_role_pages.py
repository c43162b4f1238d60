"""Each role logs in through a real Chromium and lands on a page that works for them.

Served by pytest-django's live server (plain HTTP is enough here; the websocket path has its own
browser test). Screenshots go to artifacts/ for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def page(chromium):
    _, browser = chromium
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    yield context.new_page()
    context.close()


def login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Log in").click()


def test_agent_lands_on_the_queue_and_opens_a_ticket(page, live_server, agent):
    ticket = factories.open_ticket(subject="Router blinks red")
    login(page, live_server, "anna")
    expect(page).to_have_url(f"{live_server.url}/desk/queue/")
    page.get_by_role("link", name="Router blinks red").click()
    expect(page.get_by_role("heading", name=f"{ticket.reference} · Router blinks red")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "agent-ticket.png", full_page=True)


def test_customer_writes_to_us_and_sees_the_reference(page, live_server, alice):
    alice.language = "en"  # her pages follow her profile's language
    alice.save(update_fields=["language"])
    login(page, live_server, "alice")
    expect(page).to_have_url(f"{live_server.url}/my/tickets/")
    page.get_by_role("link", name="Write to us").first.click()
    page.get_by_label("Subject").fill("Ingen internetanslutning")
    page.get_by_label("What happened?").fill("Sedan i morse <b>fungerar</b> ingenting.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Your reference is SD-")).to_be_visible()
    expect(page.get_by_text("Sedan i morse <b>fungerar</b> ingenting.")).to_be_visible()  # shown as typed
    page.screenshot(path=ARTIFACTS / "customer-ticket.png", full_page=True)


def test_tech_lands_on_escalations_and_ops_on_incidents(page, live_server, tech, ops):
    login(page, live_server, "tomas")
    expect(page).to_have_url(f"{live_server.url}/desk/escalations/")
    expect(page.get_by_role("heading", name="Escalations")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    login(page, live_server, "olga")
    expect(page).to_have_url(f"{live_server.url}/ops/incidents/")
    page.screenshot(path=ARTIFACTS / "ops-incidents.png", full_page=True)


def test_a_swedish_customer_is_answered_in_swedish(page, live_server, alice):
    login(page, live_server, "alice")
    expect(page.get_by_role("link", name="Skriv till oss").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / "customer-sv.png", full_page=True)
