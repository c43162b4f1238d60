"""A customer's pages on a 390 px phone, signed out and signed in, driven in Chromium as a person
would: ask about a postcode, follow it by e-mail, check coverage, write to us, read My tickets.
Every page: nothing wider than the screen, and axe-core (from npm: ``npm ci`` installs the version
package.json pins) finds no serious or critical accessibility violation. Screenshots go to
artifacts/phone-*.png for a person to look at."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Area
from tests import factories
from tests.browser.conftest import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def place(db):
    se = factories.AreaFactory(code="se", name="Sverige", kind=Area.Kind.COUNTRY, parent=None)
    sthlm = factories.AreaFactory(code="se-ab-0180", name="Stockholm", parent=se)
    norrmalm = factories.AreaFactory(
        code="se-11122", name="111 22 Stockholm (Norrmalm)", kind=Area.Kind.POSTCODE, parent=sthlm
    )
    fibre = factories.ServiceFactory(code="broadband", name="Fibre broadband", names={"sv": "Fiberbredband"})
    email = factories.ServiceFactory(code="email", name="E-mail", names={"sv": "E-post"})
    factories.ServiceFactory(code="mobile-4g", name="Mobile 4G", names={"sv": "Mobilt bredband 4G"})
    norrmalm.services.add(fibre, email)
    return {"area": sthlm, "postcode": norrmalm, "email": email}


def check(page, name: str, axe_source: str) -> None:
    """No horizontal overflow, no serious/critical axe violation; a screenshot to look at."""
    scroll, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= viewport, f"{name}: {scroll}px wide on a {viewport}px screen"
    # Evaluated through the DevTools protocol, so the page's CSP (no inline script) does not apply.
    page.evaluate(axe_source)
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )
    assert result == [], f"{name}: {json.dumps(result, indent=1)}"
    page.screenshot(path=ARTIFACTS / f"phone-{name}.png", full_page=True)


def test_a_visitor_on_a_phone_finds_the_outage_where_they_live_and_follows_it(
    chromium, live_server, place, ops, axe_source
):
    ARTIFACTS.mkdir(exist_ok=True)
    factories.declare_incident(
        actor=ops,
        title="E-mail down",
        titles={"sv": "Störning i e-posten"},
        services=[place["email"]],
        areas=[place["area"]],
        public_message={
            "sv": "Det går inte att skicka e-post just nu. Felet ligger hos oss. Vi ber om ursäkt."
        },
        eta=timezone.now() + timedelta(hours=1),
    )
    _, browser = chromium
    context = browser.new_context(viewport=PHONE, locale="sv-SE")
    page = context.new_page()

    page.goto(f"{live_server.url}/status/")
    check(page, "status", axe_source)
    page.get_by_label("Är något fel där du bor? Ange ditt postnummer eller din ort.").fill("111 22")
    page.get_by_role("button", name="Visa status").click()
    expect(page.get_by_role("heading", name="Störning i e-posten")).to_be_visible()
    expect(page.get_by_text("Europe/Stockholm")).to_be_visible()
    expect(page.get_by_role("img", name="E-post: ")).to_be_visible()  # the uptime bar, named
    check(page, "status-postcode", axe_source)

    page.get_by_label("Din e-postadress").fill("granne@example.com")
    page.get_by_role("button", name="Följ", exact=True).click()
    expect(page.get_by_role("heading", name="Titta i din e-post")).to_be_visible()
    check(page, "status-subscribe-sent", axe_source)

    page.goto(f"{live_server.url}/coverage/?q=11122")
    expect(page.get_by_text("Fiberbredband")).to_be_visible()
    check(page, "coverage", axe_source)

    page.goto(f"{live_server.url}/contact/")
    page.get_by_label("Din e-postadress").fill("granne@example.com")
    page.get_by_label("Ditt kundnummer eller telefonnummer").fill("070 123 45 67")
    page.get_by_label("Rubrik").fill("Ingen e-post")
    page.get_by_label("Vad har hänt?").fill("Sedan i morse kommer ingen e-post fram.")
    check(page, "contact", axe_source)
    page.get_by_role("button", name="Skicka").click()
    expect(page.get_by_role("heading", name="Titta i din e-post")).to_be_visible()
    check(page, "contact-sent", axe_source)

    page.goto(f"{live_server.url}/accounts/email-link/")
    check(page, "sign-in-link", axe_source)
    context.close()


def test_a_signed_in_customer_on_a_phone_sees_the_outage_first_and_their_tickets(
    chromium, live_server, place, ops, alice, axe_source
):
    ARTIFACTS.mkdir(exist_ok=True)
    factories.SubscriptionFactory(customer=alice, service=place["email"], area=place["postcode"])
    factories.declare_incident(
        actor=ops,
        title="E-mail down",
        titles={"sv": "Störning i e-posten"},
        services=[place["email"]],
        areas=[place["area"]],
        public_message={"sv": "Det går inte att skicka e-post just nu. Felet ligger hos oss."},
    )
    ticket = factories.open_ticket(
        customer=alice, service=place["email"], subject="Ingen e-post sedan i morse"
    )
    _, browser = chromium
    context = browser.new_context(viewport=PHONE, locale="sv-SE")
    context.add_cookies([session_cookie(alice.user, live_server.url)])
    page = context.new_page()

    page.goto(f"{live_server.url}/my/tickets/")
    expect(page.get_by_role("heading", name="Störning i e-posten")).to_be_visible()
    check(page, "my-tickets", axe_source)
    page.get_by_role("link", name=ticket.reference).click()
    expect(page.get_by_role("heading", name="Ingen e-post sedan i morse")).to_be_visible()
    check(page, "my-ticket", axe_source)
    page.goto(f"{live_server.url}/my/tickets/new/")
    check(page, "new-ticket", axe_source)
    context.close()


def test_the_accessibility_check_does_not_pass_vacuously(chromium, axe_source):
    """A page with an unlabelled image and an unlabelled input fails the same check."""
    _, browser = chromium
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_content('<html lang="en"><title>x</title><main><img src="x.png"><input></main></html>')
    with pytest.raises(AssertionError, match="image-alt"):
        check(page, "broken", axe_source)
    context.close()
