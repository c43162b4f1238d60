"""The queue's bulk bar in a browser: an agent ticks two customers' tickets, links them to an outage
(each row then shows it, SLA paused), and answers both with one canned reply — each customer reads
it in their own language on their ticket, and gets it by e-mail once."""

from __future__ import annotations

import pytest

from notifications.models import Notification
from tests import factories
from tests.browser.conftest import session_cookie
from tests.conftest import ROOT
from tickets.models import Macro, TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

ARTIFACTS = ROOT / "artifacts"


def test_an_agent_links_ticked_tickets_and_answers_them_with_one_canned_reply(
    chromium, asgi_server, alice, bob, agent, ops
):
    _, browser = chromium
    incident = factories.declare_incident(
        actor=ops, title="Fibre cut in Solna", keywords=["zzz-none"]
    ).incident
    Macro.objects.create(
        name="Outage known",
        texts={
            "sv": "Hej {customer_name}! Felet ({incident_title}) är känt, vi arbetar på det.",
            "fi": "Hei {customer_name}! Vika ({incident_title}) on tiedossa, korjaamme sitä.",
            "en": "Hello {customer_name}, the fault ({incident_title}) is known.",
        },
    )
    tickets = [
        factories.open_ticket(customer=alice, subject="Inget internet"),
        factories.open_ticket(customer=bob, subject="Ei nettiä"),
    ]
    untouched = factories.open_ticket(subject="Something else")
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    context.add_cookies([session_cookie(agent, asgi_server)])
    page = context.new_page()
    page.goto(f"{asgi_server}/desk/queue/")

    def tick_and_apply(option_label: str) -> None:
        for ticket in tickets:
            page.get_by_label(f"Tick {ticket.reference}", exact=True).check()
        page.locator("select[name=action]").select_option(label=option_label)
        with page.expect_navigation():
            page.get_by_role("button", name="Apply").click()

    tick_and_apply(f"#{incident.pk} Fibre cut in Solna")
    page.get_by_text("2 tickets changed.").wait_for()
    for ticket in tickets:
        row = page.locator("#queue-rows tr", has=page.get_by_role("link", name=ticket.reference, exact=True))
        assert row.locator(".pill.outage").count() == 1, "the row shows it is explained by the outage"
        assert row.locator(".sla-paused").count() == 1, "its SLA clock stands still"
    other = page.locator("#queue-rows tr", has=page.get_by_role("link", name=untouched.reference, exact=True))
    assert other.locator(".pill.outage").count() == 0

    tick_and_apply("Outage known")
    page.get_by_text("2 replies sent.").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "bulk-bar-replied.png", full_page=True)

    page.goto(f"{asgi_server}/desk/tickets/{tickets[0].reference}/")
    page.get_by_text("Hej Alice Andersson! Felet (Fibre cut in Solna) är känt, vi arbetar på det.").wait_for()
    page.goto(f"{asgi_server}/desk/tickets/{tickets[1].reference}/")
    page.get_by_text("Hei Bob Berg! Vika (Fibre cut in Solna) on tiedossa, korjaamme sitä.").wait_for()
    assert not untouched.events.filter(kind=TicketEvent.Kind.REPLY).exists()
    mails = Notification.objects.filter(kind=Notification.Kind.TICKET_REPLY).order_by("ticket_id")
    assert [(m.ticket_id, m.language) for m in mails] == [(tickets[0].pk, "sv"), (tickets[1].pk, "fi")]
