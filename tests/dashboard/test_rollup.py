"""The hourly rollup behind the dashboard's volume chart: what a refresh writes, that it is
idempotent and heals itself, and that the chart reads closed hours from it and the rest live."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from dashboard import rollup, selectors
from dashboard.models import HourlyTicketCount, OpenTicketCount, RollupState
from tests import factories
from tests.dashboard.test_dashboard_page import _chart
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.core]


def opened_at(ticket, when) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(created_at=when)


def rows() -> dict[tuple, int]:
    """The per-region rows; ``totals()`` checks the all-region ones."""
    return {
        (r.hour, r.service_id, r.region_id): r.opened
        for r in HourlyTicketCount.objects.exclude(region_id=rollup.ALL_REGIONS)
    }


def totals() -> dict[tuple, int]:
    return {
        (r.hour, r.service_id): r.opened
        for r in HourlyTicketCount.objects.filter(region_id=rollup.ALL_REGIONS)
    }


@pytest.fixture
def past(catalogue, ticket_in):
    """Three tickets two hours ago (two Stockholm broadband, one Göteborg e-mail), one five hours ago."""
    hour = rollup.hour_floor(timezone.now())
    two, five = hour - timedelta(hours=2), hour - timedelta(hours=5)
    for area, service in ((catalogue.solna, catalogue.broadband), (catalogue.taby, catalogue.broadband),
                          (catalogue.hisingen, catalogue.email)):  # fmt: skip
        opened_at(ticket_in(service=service, area=area), two + timedelta(minutes=10))
    opened_at(ticket_in(service=catalogue.iptv, area=catalogue.solna), five + timedelta(minutes=59))
    return hour, two, five


def test_the_first_refresh_counts_every_closed_hour_per_service_and_region(catalogue, past):
    hour, two, five = past
    done = rollup.rollup_refresh()
    assert rows() == {
        (two, catalogue.broadband.pk, catalogue.stockholm.pk): 2,
        (two, catalogue.email.pk, catalogue.goteborg.pk): 1,
        (five, catalogue.iptv.pk, catalogue.stockholm.pk): 1,
    }
    assert totals() == {
        (two, catalogue.broadband.pk): 2,
        (two, catalogue.email.pk): 1,
        (five, catalogue.iptv.pk): 1,
    }
    assert done.until == hour
    assert RollupState.objects.get(name=rollup.NAME).complete_until == hour


def test_tickets_of_the_current_hour_are_left_to_the_live_count(catalogue, ticket_in, past):
    ticket_in(service=catalogue.email, area=catalogue.solna)  # opened now
    rollup.rollup_refresh()
    assert sum(rows().values()) == 4


def test_a_ticket_without_area_or_service_counts_under_none(catalogue, ticket_in, past):
    hour, two, _five = past
    t = ticket_in(service=catalogue.email, area=catalogue.hisingen)
    Ticket.objects.filter(pk=t.pk).update(created_at=two, area=None, service=None)
    rollup.rollup_refresh()
    assert rows()[(two, 0, 0)] == 1


def test_refreshing_twice_changes_nothing(past):
    rollup.rollup_refresh()
    first = rows()
    rollup.rollup_refresh()
    assert rows() == first


def test_a_ticket_moved_to_another_service_moves_its_count_and_an_emptied_group_goes(catalogue, past):
    hour, two, _five = past
    rollup.rollup_refresh()
    Ticket.objects.filter(service=catalogue.email).update(service=catalogue.iptv)
    rollup.rollup_refresh()
    got = rows()
    assert (two, catalogue.email.pk, catalogue.goteborg.pk) not in got
    assert got[(two, catalogue.iptv.pk, catalogue.goteborg.pk)] == 1
    assert (two, catalogue.email.pk) not in totals()


def test_a_beat_that_was_down_leaves_no_gap(catalogue, ticket_in, past):
    hour, _two, _five = past
    rollup.rollup_refresh()
    # The beat stopped a day ago; tickets were opened meanwhile, long before the last REFRESH_HOURS.
    RollupState.objects.update(complete_until=hour - timedelta(days=1))
    old = hour - timedelta(hours=20)
    opened_at(ticket_in(service=catalogue.email, area=catalogue.taby), old)
    rollup.rollup_refresh()
    assert rows()[(old, catalogue.email.pk, catalogue.stockholm.pk)] == 1


def test_a_backfill_of_old_hours_never_moves_the_watermark_back(past):
    hour, two, _five = past
    rollup.rollup_refresh()
    rollup.rollup_refresh(since=hour - timedelta(days=3), now=hour - timedelta(days=2))
    assert RollupState.objects.get().complete_until == hour


def test_the_backfill_command_recomputes_everything(catalogue, past):
    hour, two, _five = past
    HourlyTicketCount.objects.create(
        hour=two, service_id=catalogue.broadband.pk, region_id=catalogue.stockholm.pk, opened=99
    )
    RollupState.objects.create(name=rollup.NAME, complete_until=hour)
    out = io.StringIO()
    call_command("dashboard_rollup", "--all", stdout=out)
    assert "rows written" in out.getvalue()
    assert rows()[(two, catalogue.broadband.pk, catalogue.stockholm.pk)] == 2


def test_the_backfill_command_refuses_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("dashboard_rollup", "--since", "yesterday")


def _totals(client) -> dict[str, int]:
    chart = _chart(client.get(reverse("dashboard:page"), {"range": "7d"}))
    return {s["label"]: sum(s["data"]) for s in chart["series"]}


def test_the_chart_is_the_same_with_and_without_the_rollup(client, ops, catalogue, ticket_in, past):
    ticket_in(service=catalogue.email, area=catalogue.solna)  # the current hour
    client.force_login(ops)
    live = _totals(client)
    rollup.rollup_refresh()
    assert (
        _totals(client)
        == live
        == {catalogue.broadband.name: 2, catalogue.email.name: 2, catalogue.iptv.name: 1}
    )


def test_the_chart_reads_closed_hours_from_the_rollup_and_the_current_hour_live(
    client, ops, catalogue, ticket_in, past
):
    hour, two, _five = past
    rollup.rollup_refresh()
    # Doctor the rollup: if the chart shows this, it read the closed hours from there.
    HourlyTicketCount.objects.filter(
        hour=two, service_id=catalogue.broadband.pk, region_id=rollup.ALL_REGIONS
    ).update(opened=40)
    ticket_in(service=catalogue.broadband, area=catalogue.solna)  # now: only the live count has it
    client.force_login(ops)
    assert _totals(client)[catalogue.broadband.name] == 41


def test_hours_after_a_stale_watermark_are_counted_live(client, ops, catalogue, past):
    hour, two, _five = past
    rollup.rollup_refresh()
    HourlyTicketCount.objects.update(opened=0)  # whatever the rollup says after its watermark…
    RollupState.objects.update(complete_until=two)  # …the hours from `two` on are counted live
    client.force_login(ops)
    totals = _totals(client)
    assert totals[catalogue.broadband.name] == 2 and totals[catalogue.email.name] == 1
    assert catalogue.iptv.name not in totals  # five hours ago: before the watermark, from the rollup


def test_the_month_view_folds_rolled_up_hours_into_local_days(catalogue, past):
    rollup.rollup_refresh()
    volume = selectors.ticket_volume(selectors.window_for("30d"), selectors.all_services())
    assert volume.total == 4
    assert all(b == timezone.localtime(b).replace(hour=0, minute=0) for b in volume.buckets)


def test_a_link_made_long_after_the_hour_is_counted_by_the_next_refresh(ops, catalogue, past):
    hour, two, five = past
    rollup.rollup_refresh()
    # A known issue attaches tickets of any age: here the five-hour-old IPTV one, outside REFRESH_HOURS.
    factories.declare_incident(actor=ops, kind="known-issue", services=[catalogue.iptv])
    rollup.rollup_refresh()
    assert HourlyTicketCount.objects.get(hour=five, region_id=catalogue.stockholm.pk).auto_linked == 1
    assert selectors.dashboard(selectors.window_for("7d")).headline.auto_linked == 1


def test_a_detached_link_leaves_the_auto_linked_count_at_the_next_refresh(ops, catalogue, past):
    hour, two, five = past
    incident = factories.declare_incident(actor=ops, kind="known-issue", services=[catalogue.iptv]).incident
    rollup.rollup_refresh()
    assert HourlyTicketCount.objects.get(hour=five, region_id=rollup.ALL_REGIONS).auto_linked == 1
    incident.links.update(detached_at=timezone.now())
    rollup.rollup_refresh()
    assert HourlyTicketCount.objects.get(hour=five, region_id=rollup.ALL_REGIONS).auto_linked == 0


def _heat_cells() -> dict[tuple[str, str], int]:
    heat = selectors.open_heat(selectors.all_services())
    return {
        (region, s["code"]): n
        for region, row in heat.rows
        for s, (n, _level) in zip(heat.services, row, strict=True)
        if n
    }


def test_the_heat_table_reads_the_refreshs_snapshot_while_it_is_recent(catalogue, past):
    rollup.rollup_refresh()
    assert _heat_cells() == {
        ("Stockholm", "broadband"): 2,
        ("Göteborg", "email"): 1,
        ("Stockholm", "iptv"): 1,
    }
    assert selectors.open_heat(selectors.all_services()).snapshot
    # Doctor the snapshot: the table shows it, so it was read from there.
    OpenTicketCount.objects.filter(region_id=catalogue.goteborg.pk).update(open=7)
    assert _heat_cells()[("Göteborg", "email")] == 7


def test_a_stale_snapshot_is_ignored_and_the_open_tickets_counted_live(catalogue, past):
    rollup.rollup_refresh()
    OpenTicketCount.objects.update(open=99)
    RollupState.objects.update(refreshed_at=timezone.now() - selectors.HEAT_MAX_AGE - timedelta(seconds=1))
    heat = selectors.open_heat(selectors.all_services())
    assert not heat.snapshot
    assert _heat_cells() == {
        ("Stockholm", "broadband"): 2,
        ("Göteborg", "email"): 1,
        ("Stockholm", "iptv"): 1,
    }


def test_a_closed_ticket_leaves_the_snapshot_at_the_next_refresh(catalogue, past):
    rollup.rollup_refresh()
    Ticket.objects.filter(service=catalogue.iptv).update(status="closed", resolved_at=timezone.now())
    rollup.rollup_refresh()
    assert ("Stockholm", "iptv") not in _heat_cells()


def test_beat_refreshes_the_rollup_every_minute_through_the_task(past):
    from dashboard.tasks import refresh_rollup
    from supportdesk.celery import app

    app.finalize()  # the schedule is set when the app is finalised
    entry = app.conf.beat_schedule["dashboard-rollup"]
    assert entry["task"] == refresh_rollup.name and entry["schedule"] == 60.0
    assert refresh_rollup.delay().get() == 3  # eager here; a live worker runs it in test_task_outcomes
    assert RollupState.objects.filter(name=rollup.NAME).exists()
