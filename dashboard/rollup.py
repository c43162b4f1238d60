"""The hourly rollup of tickets opened per (hour, service, region), kept by beat.

Why: the dashboard's volume chart and auto-linked share counted the window's tickets on every request — 217,000 index
entries for 7 days at a million tickets, 1–4 s under load. With the rollup it reads at most
(hours × services × regions) small rows for the closed hours and counts only the tickets opened since
the rollup's watermark live (dashboard/selectors.py, ``ticket_volume``).

Guarantees of ``rollup_refresh``:
- **Set-based**: one ``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`` for the whole range, one
  ``DELETE`` of the range's rows it did not write (groups whose tickets moved to another service or
  were deleted, and the old totals), then one ``INSERT … SELECT`` of the all-region totals per
  (hour, service) that the chart reads. Portable: PostgreSQL and SQLite (the embedded default).
- **Idempotent**: running it twice gives the same rows; concurrent runs are serialised by a
  transaction-scoped advisory lock (PostgreSQL; SQLite serialises writers anyway).
- **Watermark**: ``RollupState.complete_until`` is the start of the current hour after a refresh;
  every earlier hour is in the table. The dashboard counts from the watermark live, so a beat that
  stopped makes the page slower, never wrong.
- **Self-healing**: each run recomputes the last ``REFRESH_HOURS`` closed hours (tickets committed
  just after their hour closed, service changes of the last hours) and everything since the old
  watermark (a beat that was down for a day catches up in one run), and from the oldest ticket whose
  incident link was made or detached since the last run (so the auto-linked counts follow; a known
  issue attaching year-old tickets makes that one run recompute a year, a few seconds at a million
  tickets). With no watermark at all (a fresh install) the first run backfills every hour.
- **Lag**: closed hours are at most a minute (one beat) behind the tickets and links; the current
  hour is always live.

Each run also replaces the snapshot of open tickets per (region, service) that the heat table reads
while the refresh is recent (``HEAT_MAX_AGE`` in dashboard/selectors.py).

Not followed: a ticket's service or area changed more than ``REFRESH_HOURS`` after it was opened
stays counted under the old one in the chart until ``manage.py dashboard_rollup --all``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from customers.models import Area
from dashboard.models import HourlyTicketCount, OpenTicketCount, RollupState
from incidents.models import IncidentTicketLink
from tickets.models import Ticket

NAME = "tickets-opened"
REFRESH_HOURS = 3
LINK_MARGIN = timedelta(minutes=10)
ALL_REGIONS = -1  # region_id of the per-(hour, service) totals
_LOCK_KEY = 0x5D_0017  # pg_advisory_xact_lock key of the refresh


@dataclass(frozen=True)
class Refreshed:
    since: datetime
    until: datetime
    written: int  # per-region rows inserted or updated
    removed: int  # stale rows deleted (the all-region totals are rewritten each time, not counted)


def hour_floor(t: datetime) -> datetime:
    return t.astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)


def _hour_sql() -> str:
    if connection.vendor == "postgresql":
        return "date_trunc('hour', t.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    # SQLite stores aware datetimes as UTC text; the rollup's hour column reads the same format.
    return "strftime('%%Y-%%m-%%d %%H:00:00', t.created_at)"


# Every area's region (its depth-1 ancestor) by the materialised path: areas × regions, small.
_REGION_OF = """
    SELECT a.id AS area_id, r.id AS region_id
    FROM {area} a JOIN {area} r ON r.depth = 1 AND substr(a.path, 1, length(r.path)) = r.path
"""

_UPSERT_SQL = """
INSERT INTO {rollup} (hour, service_id, region_id, opened, auto_linked, computed_at)
SELECT {hour}, COALESCE(t.service_id, 0), COALESCE(ro.region_id, 0), COUNT(*),
       SUM(CASE WHEN EXISTS (
           SELECT 1 FROM {link} l
           WHERE l.ticket_id = t.id AND l.origin = 'auto' AND l.detached_at IS NULL
       ) THEN 1 ELSE 0 END),
       %s
FROM {ticket} t
LEFT JOIN ({region_of}) ro ON ro.area_id = t.area_id
WHERE t.created_at >= %s AND t.created_at < %s
GROUP BY 1, 2, 3
ON CONFLICT (hour, service_id, region_id)
DO UPDATE SET opened = excluded.opened, auto_linked = excluded.auto_linked, computed_at = excluded.computed_at
"""


# Per (hour, service), all regions summed: the rows the dashboard's chart reads (it shows services,
# not regions), 1/25th of the per-region rows at the seed data's 25 regions. Derived from the rows just
# written, in the same transaction.
_TOTALS_SQL = """
INSERT INTO {rollup} (hour, service_id, region_id, opened, auto_linked, computed_at)
SELECT hour, service_id, %s, SUM(opened), SUM(auto_linked), %s
FROM {rollup}
WHERE region_id <> %s AND hour >= %s AND hour < %s
GROUP BY hour, service_id
ON CONFLICT (hour, service_id, region_id)
DO UPDATE SET opened = excluded.opened, auto_linked = excluded.auto_linked, computed_at = excluded.computed_at
"""


_OPEN_SQL = """
INSERT INTO {open} (region_id, service_id, open)
SELECT COALESCE(ro.region_id, 0), COALESCE(t.service_id, 0), COUNT(*)
FROM {ticket} t
LEFT JOIN ({region_of}) ro ON ro.area_id = t.area_id
WHERE t.status IN ({statuses})
GROUP BY 1, 2
"""


def _snapshot_open_tickets() -> None:
    """Replace the open-tickets snapshot: one DELETE, one INSERT … SELECT (the open tickets' index
    entries, grouped). Inside the refresh's transaction, so readers see the old or the new one whole."""
    statuses = [str(s) for s in Ticket.OPEN_STATUSES]
    sql = _OPEN_SQL.format(
        open=OpenTicketCount._meta.db_table,
        ticket=Ticket._meta.db_table,
        region_of=_REGION_OF.format(area=Area._meta.db_table),
        statuses=", ".join(["%s"] * len(statuses)),
    )
    OpenTicketCount.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(sql, statuses)


def rollup_refresh(*, since: datetime | None = None, now: datetime | None = None) -> Refreshed:
    """Recompute the closed hours from ``since`` (default: the older of the watermark and
    ``REFRESH_HOURS`` ago; everything if there is no watermark) up to the current hour, and move the
    watermark there. One transaction; see the module docstring for the guarantees."""
    now = now or timezone.now()
    until = hour_floor(now)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        state = RollupState.objects.filter(name=NAME).first()
        if since is None:
            since = until - timedelta(hours=REFRESH_HOURS)
            if state is not None:
                since = min(since, state.complete_until)
        if state is not None:
            # Links made or detached since the last refresh change the auto-linked count of their
            # tickets' hours, however old (a known issue links tickets of any age): recompute from
            # the oldest such ticket. Reads the links table (no index on these columns: an index
            # would slow the 100,000-link declarations; this runs in the worker once a minute).
            touched = IncidentTicketLink.objects.filter(
                # The margin: a link whose transaction committed after the last refresh's snapshot.
                Q(created_at__gte=state.refreshed_at - LINK_MARGIN)
                | Q(detached_at__gte=state.refreshed_at - LINK_MARGIN)
            ).aggregate(first=Min("ticket__created_at"))["first"]
            since = min(since, touched) if touched else since
        if state is None:  # nothing is complete yet: the watermark may only claim what we compute
            first = Ticket.objects.aggregate(first=Min("created_at"))["first"]
            since = min(since, first) if first else since
        since = hour_floor(since)
        stamp = timezone.now()
        sql = _UPSERT_SQL.format(
            rollup=HourlyTicketCount._meta.db_table,
            ticket=Ticket._meta.db_table,
            region_of=_REGION_OF.format(area=Area._meta.db_table),
            link=IncidentTicketLink._meta.db_table,
            hour=_hour_sql(),
        )
        totals = _TOTALS_SQL.format(rollup=HourlyTicketCount._meta.db_table)
        # As the ORM would pass them (SQLite compares datetimes as text, in its own format).
        at, lo, hi = (connection.ops.adapt_datetimefield_value(v) for v in (stamp, since, until))
        with connection.cursor() as cursor:
            cursor.execute(sql, [at, lo, hi])
            written = cursor.rowcount
        # Rows of the range this run did not write: groups whose tickets moved or went, and the old
        # totals (rewritten next, from the per-region rows that are now exactly right).
        removed, _detail = HourlyTicketCount.objects.filter(
            hour__gte=since, hour__lt=until, computed_at__lt=stamp
        ).delete()
        with connection.cursor() as cursor:
            cursor.execute(totals, [ALL_REGIONS, at, ALL_REGIONS, lo, hi])
        _snapshot_open_tickets()
        if state is None:
            RollupState.objects.create(name=NAME, complete_until=until, refreshed_at=stamp)
        elif until > state.complete_until:  # a backfill of old hours never moves it back
            RollupState.objects.filter(pk=state.pk).update(complete_until=until, refreshed_at=stamp)
        else:
            RollupState.objects.filter(pk=state.pk).update(refreshed_at=stamp)
    return Refreshed(since=since, until=until, written=written, removed=removed)
