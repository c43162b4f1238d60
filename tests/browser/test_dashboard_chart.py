"""The operations dashboard in a real Chromium: the chart draws (a canvas with pixels, one line per
service, the incident band), the Content-Security-Policy blocks nothing, and the page fits 1366 px."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories
from tests.browser.conftest import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Non-blank pixels of the chart's canvas: lines and the shaded band.
INK = """() => {
  const c = document.querySelector('#volume-chart canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n;
}"""


@pytest.mark.parametrize("persona", ["ops", "tech", "admin_user"])
def test_the_dashboard_chart_draws_for_each_staff_role_allowed(
    chromium, live_server, catalogue, ticket_in, persona, request, ops
):
    for hours in (1, 5, 9, 30, 50):
        factories.backdate(ticket_in(service=catalogue.broadband, area=catalogue.solna), hours=hours)
        factories.backdate(ticket_in(service=catalogue.email, area=catalogue.hisingen), hours=hours + 2)
    factories.declare_incident(
        actor=ops,
        title="Solna fibre cut",
        services=[catalogue.broadband],
        started_at=timezone.now() - timedelta(hours=20),
    )
    user = request.getfixturevalue(persona)
    _, browser = chromium
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv-SE")
    context.add_cookies([session_cookie(user, live_server.url)])
    page = context.new_page()
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_server.url}/ops/dashboard/?range=7d")
    page.wait_for_selector("#volume-chart[data-points] canvas")
    chart = page.locator("#volume-chart")
    assert int(chart.get_attribute("data-points")) > 0
    assert chart.get_attribute("data-bands") == "1"
    assert page.evaluate(INK) > 1000
    # uPlot's legend names one series per service with tickets.
    legend = page.locator(".u-legend .u-series").all_inner_texts()
    assert any("Broadband" in t for t in legend) and any("Email" in t for t in legend)
    # Times name their zone (on the axis and the legend's time entry), on a 24-hour clock.
    zone = chart.get_attribute("data-zone")
    assert zone and f"({zone})" in legend[0]
    assert page.locator("table.heat td.heat-5").count() >= 1
    assert blocked == []
    scroll, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= viewport
    page.screenshot(path=f"/tmp/dashboard-{persona}.png", full_page=True)
    context.close()
