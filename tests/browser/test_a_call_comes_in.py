"""A call comes in, end to end in Chromium at 1366 px: the agent looks the caller up by the phone
number as caller-ID gives it, sees the known outage with its script and workaround before anything
else, opens a ticket (which links itself to the outage), takes it and replies, in place, without the
page reloading. Screenshots: /tmp/agentday-call-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories
from tests.browser.conftest import session_cookie
from tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = "We know: fibre is down in Solna since this morning. It is on our side, not your equipment."
WORKAROUND = "Use mobile data meanwhile\nKeep the router switched on"


def test_a_call_comes_in(chromium, live_server, catalogue, agent, ops):
    _, browser = chromium
    karin = factories.CustomerFactory(name="Karin Lund", language="en", phone="+46731112233")
    broadband = factories.SubscriptionFactory(
        customer=karin, service=catalogue.broadband, area=catalogue.solna, equipment=catalogue.zyxel
    )
    factories.SubscriptionFactory(customer=karin, service=catalogue.email, area=catalogue.solna)
    eta = timezone.now() + timedelta(hours=3)
    outage = factories.declare_incident(
        actor=ops,
        title="Fibre down in Solna",
        services=[catalogue.broadband],
        areas=[catalogue.solna],
        agent_script={"en": SCRIPT},
        workaround={"en": WORKAROUND},
        eta=eta,
    ).incident
    # Touches Karin too (her e-mail), but not what she calls about: one line on the ticket.
    factories.declare_incident(
        actor=ops, title="Mail platform slow", kind="degradation", services=[catalogue.email]
    )

    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    context.add_cookies([session_cookie(agent, live_server.url)])
    page = context.new_page()

    # 1. The phone system gives the number as caller-ID does, without the plus.
    page.goto(f"{live_server.url}/desk/lookup/")
    box = page.get_by_label("Phone, customer number, e-mail or name")
    box.fill("46731112233")
    box.press("Enter")
    page.wait_for_url("**/desk/lookup/?q=46731112233")

    # 2. The outage, with what to say and the workaround, comes before anything else on the screen.
    card = page.locator(".incident-box", has_text="Fibre down in Solna")
    card.wait_for()
    assert SCRIPT in card.inner_text()
    assert "Use mobile data meanwhile" in card.inner_text()
    assert card.bounding_box()["y"] < page.locator("h1", has_text="Karin Lund").bounding_box()["y"]
    assert "Expected fixed" in card.inner_text() and (
        "CET" in card.inner_text() or "CEST" in card.inner_text()
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path="/tmp/agentday-call-1-lookup.png", full_page=True)

    # 3. Open a ticket for her broadband: it links itself to the outage.
    page.get_by_text("Open a ticket for this caller").click()
    page.get_by_label("Subscription").select_option(str(broadband.pk))
    page.get_by_label("Channel").select_option("phone")
    page.get_by_label("Subject").fill("No internet since this morning")
    page.get_by_label("Description").fill("Router lights normal, no connection.")
    page.get_by_role("button", name="Open ticket").click()
    page.wait_for_url("**/desk/tickets/SD-*/")
    ticket = Ticket.objects.get(customer=karin)
    assert outage.links.filter(ticket=ticket, detached_at__isnull=True).exists()

    # Ticket first: the subject heads the page; the linked outage's script is aside; the other
    # incident is one closed line.
    assert "No internet since this morning" in page.locator("h1").inner_text()
    linked = page.locator('[data-testid="incident-linked"]', has_text="Fibre down in Solna")
    linked.wait_for()
    assert SCRIPT in linked.inner_text()
    other = page.locator('[data-testid="incident-other"]', has_text="Mail platform slow")
    assert other.count() == 1 and other.get_attribute("open") is None
    reply_box = page.locator(".reply-box")
    assert reply_box.bounding_box()["x"] < linked.bounding_box()["x"]  # main column left, context right
    assert reply_box.bounding_box()["y"] < 900  # the reply box is on the first screen

    # 4. Take it and reply in place: no reload (a marker set on the window survives), no jump to the top.
    page.evaluate("window.__noReload = true")
    page.get_by_role("button", name="Take it").click()
    page.locator('[data-testid="ticket-assignee"]', has_text="anna").wait_for()
    page.get_by_label("Message").fill("We know about the fault in Solna; expected fixed within three hours.")
    page.get_by_role("button", name="Send to the customer (English, E-mail)").click()
    page.locator(".flash", has_text="Sent to the customer.").wait_for()
    assert page.evaluate("window.__noReload === true")
    assert "expected fixed within three hours" in page.locator("#ticket-work .timeline").inner_text()
    assert page.locator('[data-testid="ticket-assignee"]').inner_text() == "anna"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path="/tmp/agentday-call-2-ticket.png", full_page=True)

    ticket.refresh_from_db()
    assert ticket.assignee == agent
    reply = ticket.events.get(kind=TicketEvent.Kind.REPLY)
    assert reply.public and "three hours" in reply.body
    context.close()
