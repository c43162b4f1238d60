"""What an agent sees of a ticket waiting on an incident — its SLA paused, not counting down or
overdue — and of a monitoring alert nobody has placed yet: flagged in the banner, not an outage.
At the staff width (1366 px). Screenshots go to artifacts/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests import factories
from tests.browser.test_resolution_on_ticket import login
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def test_the_agent_sees_the_sla_paused_and_the_held_alert_flagged(agent, ops, chromium, live_server):
    email = factories.ServiceFactory(code="email", name="E-mail")
    waiting = factories.open_ticket(service=email, subject="No e-mail since this morning")
    overdue = factories.open_ticket(subject="Slow broadband")
    Ticket.objects.filter(pk__in=[waiting.pk, overdue.pk]).update(
        sla_due_at=timezone.now() - timedelta(minutes=30)
    )
    incident = factories.declare_incident(actor=ops, title="Mail platform down", services=[email]).incident
    factories.declare_incident(actor=ops, title="HighErrorRate", source="monitoring", needs_scope=True)
    _, browser = chromium
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = context.new_page()
    try:
        login(page, live_server, "anna")
        page.goto(f"{live_server.url}/desk/queue/")
        paused = f"SLA paused — waiting on incident #{incident.pk} Mail platform down"
        row = page.locator("tr", has_text="No e-mail since this morning")
        expect(row.locator(".sla-paused")).to_have_text(paused)
        expect(page.locator("tr.sla-breached", has_text="Slow broadband")).to_be_visible()
        expect(page.locator("tr.sla-breached", has_text="No e-mail since this morning")).to_have_count(0)
        held = page.locator(".banner-item.held")
        expect(held).to_contain_text("Unconfirmed: needs scope")
        expect(held).to_contain_text("HighErrorRate")
        page.screenshot(path=ARTIFACTS / "agent-queue-sla-paused-1366.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        page.goto(f"{live_server.url}/desk/tickets/{waiting.reference}/")
        expect(page.locator(".sla-paused")).to_have_text(paused)
        page.screenshot(path=ARTIFACTS / "agent-ticket-sla-paused-1366.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()
