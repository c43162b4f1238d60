"""The operations dashboard: who may see it, what its figures say, and that its cost does not grow
with the data (the query count is pinned for a small and a larger data set)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard import selectors
from notifications.models import Alert, AlertReceipt
from notifications.services import receipt_record
from tests import factories
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.core]

# Session, user, roles, then the board: services, volume (rollup + live, auto-linked included), bands,
# heat, second-line queue, latency percentiles, incident outcomes (resolved, notified, credits). Plus the active-incident banner of the base layout (two).
PAGE_QUERIES = 12
BOARD_QUERIES = 10


@pytest.mark.parametrize("persona", ["ops", "tech", "admin_user"])
def test_ops_tech_and_admin_see_the_dashboard(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("dashboard:page"))
    assert response.status_code == 200
    assert "volume-chart" in response.content.decode()


def test_an_agent_is_refused_the_dashboard_and_its_fragment(client, agent):
    client.force_login(agent)
    assert client.get(reverse("dashboard:page")).status_code == 403
    assert client.get(reverse("dashboard:board")).status_code == 403


def test_a_customer_is_refused_and_anonymous_is_sent_to_login(client, alice):
    assert client.get(reverse("dashboard:page"))["Location"].startswith(reverse("login"))
    client.force_login(alice.user)
    assert client.get(reverse("dashboard:page")).status_code == 403


def _chart(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="chart-data" type="application/json">') + len(
        '<script id="chart-data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_the_chart_counts_tickets_per_service_and_shades_the_incident(client, ops, catalogue, ticket_in):
    for _ in range(3):
        ticket_in(service=catalogue.broadband, area=catalogue.solna)
    ticket_in(service=catalogue.email, area=catalogue.hisingen)
    incident = factories.declare_incident(
        actor=ops, title="Solna fibre cut", services=[catalogue.broadband], areas=[catalogue.stockholm]
    ).incident
    client.force_login(ops)
    chart = _chart(client.get(reverse("dashboard:page"), {"range": "today"}))
    totals = {s["label"]: sum(s["data"]) for s in chart["series"]}
    assert totals == {catalogue.broadband.name: 3, catalogue.email.name: 1}
    assert [b["id"] for b in chart["bands"]] == [incident.pk]
    assert chart["step"] == "hour"


def test_the_heat_table_folds_open_tickets_into_regions(catalogue, ticket_in):
    ticket_in(service=catalogue.broadband, area=catalogue.solna)
    ticket_in(service=catalogue.broadband, area=catalogue.taby)
    ticket_in(service=catalogue.email, area=catalogue.hisingen)
    closed = ticket_in(service=catalogue.email, area=catalogue.solna)
    Ticket.objects.filter(pk=closed.pk).update(status="closed", resolved_at=timezone.now())
    heat = selectors.open_heat(selectors.all_services())
    cells = {
        (region, s["code"]): n
        for region, row in heat.rows
        for s, (n, _level) in zip(heat.services, row, strict=True)
    }
    assert cells == {
        ("Göteborg", "broadband"): 0,
        ("Göteborg", "email"): 1,
        ("Stockholm", "broadband"): 2,
        ("Stockholm", "email"): 0,
    }
    assert heat.total == 3


def test_headline_figures_from_links_receipts_and_second_line(ops, agent, tech, catalogue, ticket_in):
    explained = [ticket_in(service=catalogue.broadband, area=catalogue.solna) for _ in range(3)]
    ticket_in(service=catalogue.email, area=catalogue.hisingen)  # not explained
    incident = factories.declare_incident(
        actor=ops, title="Solna fibre cut", services=[catalogue.broadband], areas=[catalogue.stockholm]
    ).incident
    assert incident.links.count() == 3
    alert = Alert.objects.get(incident=incident, kind=Alert.Kind.INCIDENT_DECLARED)
    receipt_record(alert_id=alert.pk, user=agent, state="acknowledged")
    receipt_record(alert_id=alert.pk, user=tech, state="delivered")
    # Known latencies: the agent's browser had it after 2 s and acknowledged at 40 s, the tech's after 4 s.
    AlertReceipt.objects.filter(user=agent).update(
        delivered_at=alert.created_at + timedelta(seconds=2),
        acknowledged_at=alert.created_at + timedelta(seconds=40),
    )
    AlertReceipt.objects.filter(user=tech).update(delivered_at=alert.created_at + timedelta(seconds=4))
    # Second line: one waiting, one resolved after 3 hours.
    Ticket.objects.filter(pk=explained[0].pk).update(queue="second-line", status="escalated")
    now = timezone.now()
    Ticket.objects.filter(pk=explained[1].pk).update(
        queue="second-line", status="resolved", created_at=now - timedelta(hours=3), resolved_at=now
    )

    h = selectors.dashboard(selectors.window_for("7d")).headline
    assert (h.new_tickets, h.auto_linked) == (4, 3)
    assert h.auto_linked_share == pytest.approx(0.75)
    assert h.reach_count == 2
    assert h.reach_p50 == pytest.approx(2, abs=0.01)
    assert h.reach_p95 == pytest.approx(4, abs=0.01)
    assert (h.ack_count, h.ack_p50) == (1, pytest.approx(40, abs=0.01))
    assert h.second_line_open == 1
    assert (h.second_line_resolved, h.second_line_p50) == (1, pytest.approx(3 * 3600, abs=1))


def test_a_detached_link_does_not_count_as_auto_linked(ops, catalogue, ticket_in):
    ticket = ticket_in(service=catalogue.broadband, area=catalogue.solna)
    incident = factories.declare_incident(
        actor=ops, services=[catalogue.broadband], areas=[catalogue.stockholm]
    ).incident
    incident.links.filter(ticket=ticket).update(detached_at=timezone.now())
    assert selectors.dashboard(selectors.window_for("today")).headline.auto_linked == 0


def test_the_ranges_are_today_seven_days_and_thirty_days():
    now = timezone.now()
    today = selectors.window_for("today", now)
    assert timezone.localtime(today.start).hour == 0 and today.step == "hour"
    assert selectors.window_for("7d", now).start <= now - timedelta(days=7)
    month = selectors.window_for("30d", now)
    assert month.step == "day" and (now - month.start) >= timedelta(days=29)
    assert selectors.window_for("<script>", now).key == "today"  # unknown: today, not an error


def _fill(catalogue, ticket_in, ops, n: int) -> None:
    for i in range(n):
        ticket_in(
            service=[catalogue.broadband, catalogue.email][i % 2],
            area=[catalogue.solna, catalogue.hisingen][i % 2],
        )
    factories.declare_incident(actor=ops, title=f"Outage {n}", services=[catalogue.broadband])


@pytest.mark.parametrize("size", [2, 12])
def test_the_page_costs_the_same_queries_whatever_the_data(
    client, ops, catalogue, ticket_in, size, django_assert_num_queries
):
    _fill(catalogue, ticket_in, ops, size)
    client.force_login(ops)
    for range_key in ("today", "7d", "30d"):
        with django_assert_num_queries(PAGE_QUERIES):
            assert client.get(reverse("dashboard:page"), {"range": range_key}).status_code == 200
        with django_assert_num_queries(BOARD_QUERIES):
            assert client.get(reverse("dashboard:board"), {"range": range_key}).status_code == 200


def test_the_fragment_polls_itself_with_the_chosen_range(client, ops):
    client.force_login(ops)
    html = client.get(reverse("dashboard:board"), {"range": "30d"}).content.decode()
    assert 'hx-get="/ops/dashboard/board/?range=30d"' in html
    assert 'hx-trigger="every 30s"' in html


def test_the_page_reads_in_swedish_and_finnish(client, ops):
    client.force_login(ops)
    sv = client.get(reverse("dashboard:page"), HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    fi = client.get(reverse("dashboard:page"), HTTP_ACCEPT_LANGUAGE="fi").content.decode()
    assert "Driftöversikt" in sv
    assert "Operatiivinen tilannekuva" in fi
