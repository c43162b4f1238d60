"""What a person sees of an e-mail on the ticket (issue 13): staff expand its headers, everyone who
may sees its attachments; long header values never widen the page. Screenshots for review go to
$SCREENSHOT_DIR when it is set."""

from __future__ import annotations

import os
from email.message import EmailMessage

import pytest

from tests.browser.conftest import session_cookie
from tickets.services import inbound_import

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n% invoice\n%%EOF\n"


def open_page(browser, base_url: str, user, path: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([session_cookie(user, base_url)])
    page = context.new_page()
    page.goto(f"{base_url}{path}")
    return context, page


def fits(page) -> bool:
    scroll, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return scroll <= viewport


def shoot(page, name: str) -> None:
    if where := os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=f"{where}/{name}.png", full_page=True)


def test_staff_expand_the_headers_and_both_sides_see_the_attachment(
    chromium, live_server, settings, tmp_path, agent, alice
):
    settings.MEDIA_ROOT = tmp_path
    _, browser = chromium
    msg = EmailMessage()
    msg["From"] = f"Alice Andersson <{alice.email}>"
    msg["To"] = "support@supportdesk.example"
    msg["Subject"] = "Fakturan stämmer inte"
    msg["Message-ID"] = "<" + "x" * 300 + "@mail.example.com>"
    msg["References"] = " ".join(f"<ref{n}.{'y' * 40}@mail.example.com>" for n in range(20))
    msg.set_content("Hej, se bifogad faktura. Beloppet är fel.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="räkning mars.pdf")
    ticket = inbound_import(raw=msg.as_bytes()).ticket

    context, page = open_page(browser, live_server.url, agent, f"/desk/tickets/{ticket.reference}/", 1366)
    headers = page.locator('[data-testid="mail-headers"]')
    assert not headers.locator("dd").first.is_visible()
    headers.locator("summary").click()
    assert headers.get_by_text("Fakturan stämmer inte").is_visible()
    assert page.get_by_role("link", name="räkning mars.pdf").is_visible()
    assert fits(page)
    shoot(page, "staff-ticket-mail-1366")
    context.close()

    context, page = open_page(browser, live_server.url, alice.user, f"/my/tickets/{ticket.reference}/", 390)
    link = page.get_by_role("link", name="räkning mars.pdf")
    assert link.is_visible()
    assert page.locator('[data-testid="mail-headers"]').count() == 0
    assert page.locator('input[type="file"]').count() == 1
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "räkning mars.pdf"
    assert fits(page)
    shoot(page, "customer-ticket-390")
    context.close()

    context, page = open_page(browser, live_server.url, alice.user, "/my/tickets/new/", 390)
    assert page.locator('input[type="file"][multiple]').count() == 1
    assert fits(page)
    shoot(page, "customer-new-ticket-390")
    context.close()


def test_an_agent_opens_a_quarantined_message_from_the_quarantine_list(chromium, live_server, agent, alice):
    from pathlib import Path

    raw = (Path(__file__).parent.parent / "tickets" / "mail" / "truncated_mime.eml").read_bytes()
    inbound_import(raw=raw.replace(b"{SENDER}", alice.email.encode()))
    _, browser = chromium
    context, page = open_page(browser, live_server.url, agent, "/desk/mail/quarantine/", 1366)
    assert page.get_by_test_id("quarantine-count").inner_text() == "1"
    assert fits(page)
    shoot(page, "staff-quarantine-1366")
    page.get_by_role("button", name="Open as a ticket").click()
    page.wait_for_url("**/desk/tickets/SD-*/")
    assert page.get_by_text("Opened by hand from a quarantined e-mail").is_visible()
    shoot(page, "staff-opened-from-quarantine-1366")
    context.close()
