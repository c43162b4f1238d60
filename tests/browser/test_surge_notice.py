"""What an agent and ops see of a surge proposal, in a real browser: the notice on the ticket page and
the proposal on the incident page, neither wider than the viewport."""

from __future__ import annotations

import os

import pytest

from customers.models import Area
from incidents import surge
from tests import factories
from tests.browser.conftest import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_agent_sees_the_possible_outage_and_ops_the_proposal(chromium, live_server, agent, ops):
    _, browser = chromium
    se = factories.AreaFactory(code="se", name="Sverige", kind=Area.Kind.COUNTRY, parent=None)
    region = factories.AreaFactory(code="se-ab", name="Stockholms län", kind=Area.Kind.REGION, parent=se)
    muni = factories.AreaFactory(
        code="se-ab-0180", name="Stockholm", kind=Area.Kind.MUNICIPALITY, parent=region
    )
    postcode = factories.AreaFactory(
        code="se-11122", name="111 22 Norrmalm", kind=Area.Kind.POSTCODE, parent=muni
    )
    broadband = factories.ServiceFactory(code="broadband", name="Fibre broadband")
    tickets = []
    for _ in range(6):
        sub = factories.SubscriptionFactory(service=broadband, area=postcode)
        tickets.append(factories.open_ticket(customer=sub.customer))
    (proposal,) = surge.detect_surges().proposed
    shots = os.environ.get("SURGE_SCREENSHOTS")

    for user, path, width in (
        (agent, f"/desk/tickets/{tickets[0].reference}/", 1366),
        (ops, f"/ops/incidents/{proposal.incident_id}/", 1366),
    ):
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([session_cookie(user, live_server.url)])
        page = context.new_page()
        page.goto(f"{live_server.url}{path}")
        if user == agent:
            notice = page.locator(".surge-notice")
            assert "Possible outage: 6 similar reports in your area in the last 3 min" in notice.inner_text()
            assert notice.locator("a").get_attribute("href") == f"/ops/incidents/{proposal.incident_id}/"
        else:
            assert page.locator("#proposal button.primary").is_visible()
        scroll, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= viewport
        if shots:
            page.screenshot(path=f"{shots}/surge-{user.username}-{width}.png", full_page=True)
        context.close()
