"""Ops declare through the form as a person under stress would — pickers, preview, then declare —
and a mistaken declaration is withdrawn and vanishes from the public status page. 1366 px wide."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from customers.models import Area
from incidents.models import Incident, IncidentTicketLink
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def page(chromium):
    _, browser = chromium
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    yield context.new_page()
    context.close()


@pytest.fixture
def outage_ticket(db):
    """An e-mail ticket in Solna (Stockholm region) and an unrelated broadband one in Göteborg."""
    se = factories.AreaFactory(code="se", name="Sweden", kind=Area.Kind.COUNTRY, parent=None)
    sthlm = factories.AreaFactory(code="se-ab", name="Stockholm", kind=Area.Kind.REGION, parent=se)
    solna = factories.AreaFactory(code="se-ab-solna", name="Solna", parent=sthlm)
    factories.AreaFactory(code="se-ab-taby", name="Täby", parent=sthlm)
    gbg = factories.AreaFactory(code="se-o", name="Göteborg", kind=Area.Kind.REGION, parent=se)
    email = factories.ServiceFactory(code="email", name="E-mail")
    broadband = factories.ServiceFactory(code="broadband", name="Broadband")
    factories.EquipmentFactory(code="zyxel-vmg8825", vendor="ZyXEL", model="VMG8825")
    sub = factories.SubscriptionFactory(service=email, area=solna)
    other = factories.SubscriptionFactory(service=broadband, area=gbg)
    factories.open_ticket(customer=other.customer, subject="Slow line")
    return factories.open_ticket(customer=sub.customer, subject="No mail since this morning")


def login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Log in").click()


def test_ops_declare_with_the_pickers_after_seeing_the_impact(page, live_server, ops, outage_ticket):
    login(page, live_server, "olga")
    page.goto(f"{live_server.url}/ops/incidents/new/")
    declare = page.get_by_role("button", name="Declare", exact=True)
    page.get_by_label("Title").fill("E-mail down in Stockholm")
    page.get_by_label("E-mail", exact=True).check()
    page.get_by_label("Areas: search by name or postcode").fill("stock")
    result = page.locator(".pick-results li", has_text="Stockholm")
    expect(result).to_contain_text("covers 2 areas under it")  # a region visibly covers its subtree
    result.get_by_role("button", name="Add").click()
    expect(page.locator("#picked-areas .chip")).to_contain_text("Stockholm")
    expect(page.locator("#preview")).to_contain_text("1 open ticket would be linked")
    expect(page.locator("#preview")).to_contain_text(outage_ticket.reference)
    expect(declare).to_be_enabled()
    expect(page.locator("small.tz").first).to_contain_text("Europe/Stockholm")
    page.get_by_label("Public message:", exact=True).fill("E-mail does not work in Stockholm. We are on it.")
    page.screenshot(path=ARTIFACTS / "ops-declare-form.png", full_page=True)
    declare.click()

    expect(page.get_by_role("heading", name="E-mail down in Stockholm")).to_be_visible()
    incident = Incident.objects.get()
    assert [a.code for a in incident.areas.all()] == ["se-ab"]
    assert IncidentTicketLink.objects.filter(incident=incident, ticket=outage_ticket).exists()
    page.screenshot(path=ARTIFACTS / "ops-declared.png", full_page=True)


def test_a_mistaken_declaration_is_withdrawn_and_vanishes_from_the_status_page(
    page, live_server, ops, outage_ticket
):
    login(page, live_server, "olga")
    page.goto(f"{live_server.url}/ops/incidents/new/")
    declare = page.get_by_role("button", name="Declare", exact=True)
    page.get_by_label("Title").fill("Test")
    # No scope at all: the impact is shown, and declaring waits for an explicit "every customer".
    expect(page.locator("#preview")).to_contain_text("would affect every customer")
    expect(page.locator("#preview")).to_contain_text("2 open tickets would be linked")
    expect(declare).to_be_disabled()
    page.get_by_label("Yes, this affects every customer").check()
    expect(declare).to_be_enabled()
    page.get_by_label("Public message:", exact=True).fill("Testing the status page")
    page.screenshot(path=ARTIFACTS / "ops-declare-everyone.png", full_page=True)
    declare.click()
    expect(page.get_by_role("heading", name="Test")).to_be_visible()

    status = page.context.new_page()
    status.goto(f"{live_server.url}/status/")
    expect(status.get_by_text("Testing the status page")).to_be_visible()

    page.get_by_text("Declared by mistake? Withdraw it").click()
    page.get_by_label("Why (kept in the history)").fill("Declared by mistake while testing")
    page.get_by_role("button", name="Withdraw incident").click()
    expect(page.get_by_text("Incident withdrawn: 2 tickets detached.")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "ops-withdrawn.png", full_page=True)

    status.reload()
    expect(status.get_by_text("Testing the status page")).to_have_count(0)
    expect(status.get_by_role("heading", name="Test", exact=True)).to_have_count(0)
    status.screenshot(path=ARTIFACTS / "status-after-withdraw.png", full_page=True)
    assert not IncidentTicketLink.objects.filter(detached_at__isnull=True).exists()
