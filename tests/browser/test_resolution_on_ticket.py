"""What the customer sees once the outage behind their ticket is fixed: the update and the resolution
message as replies on their ticket, in their language, and the ticket resolved with the fault — on a
phone-sized screen. And the agent sees a kept-open ticket flagged. Screenshots go to artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from incidents.services import incident_post_update, incident_resolve
from tests import factories
from tickets.services import ticket_assign, ticket_set_keep_open

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
FIXED = {
    "sv": "E-posten fungerar igen sedan 14.10. Förlåt för avbrottet — det var vårt fel.",
    "en": "E-mail works again since 14:10. Sorry for the outage — it was our fault.",
}


def login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(f"pw-{username}")
    page.locator("button.primary[type=submit]").click()


@pytest.fixture
def outage_fixed(alice, ops, agent):
    """Alice's e-mail ticket, linked to an outage; an update went onto the tickets; then it was fixed.
    Another customer's ticket, taken by Anna and marked keep open, stays open."""
    email = factories.ServiceFactory(code="email", name="E-post")
    ticket = factories.open_ticket(customer=alice, service=email, subject="Ingen e-post sedan i morse")
    kept = factories.open_ticket(service=email, subject="Mail down, and my invoice is wrong")
    ticket_assign(ticket=kept, assignee=agent, actor=agent)
    ticket_set_keep_open(ticket=kept, keep_open=True, actor=agent)
    incident = factories.declare_incident(
        actor=ops, title="E-postplattformen nere", services=[email]
    ).incident
    incident_post_update(
        incident=incident,
        actor=ops,
        message={
            "sv": "Vi har hittat felet i lagringen och byter disk nu.",
            "en": "Found it: a storage disk.",
        },
        reply_to_tickets=True,
    )
    incident_resolve(incident=incident, actor=ops, message=FIXED)  # eager: the loop closes on commit
    return ticket, kept


def test_the_customer_reads_the_reply_and_sees_the_ticket_resolved_with_the_fault(
    outage_fixed, chromium, live_server
):
    ticket, _kept = outage_fixed
    _, browser = chromium
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="sv-SE")
    page = context.new_page()
    try:
        login(page, live_server, "alice")
        page.goto(f"{live_server.url}/my/tickets/{ticket.reference}/")
        timeline = page.locator("ol.timeline")
        expect(timeline).to_contain_text("Vi har hittat felet i lagringen")
        expect(timeline).to_contain_text(FIXED["sv"])
        expect(timeline.locator(".resolved-by-incident")).to_have_text(
            "Löst tillsammans med felet ”E-postplattformen nere”, som nu är åtgärdat."
        )
        expect(page.get_by_text("Status: Löst")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "customer-ticket-resolved-390.png", full_page=True)
        # Nothing overflows sideways on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_the_agent_sees_the_kept_open_ticket_flagged(outage_fixed, chromium, live_server):
    _ticket, kept = outage_fixed
    _, browser = chromium
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    try:
        login(page, live_server, "anna")
        page.goto(f"{live_server.url}/desk/tickets/{kept.reference}/")
        expect(page.locator(".card.attention")).to_be_visible()
        expect(page.get_by_role("button", name="Let an incident's resolution close it")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "agent-kept-open-ticket.png", full_page=True)
    finally:
        context.close()
