"""The dashboard's figures: every one an aggregate computed by the database (GROUP BY, date_trunc,
window functions), never Python over ticket rows. The number of queries is fixed (pinned in
tests/dashboard/test_dashboard_page.py) and independent of how many tickets, incidents or receipts exist.

What serves them:
- the hourly rollup (dashboard/rollup.py, kept by beat): tickets opened and auto-linked per hour,
  service and region for every hour before its watermark;
- ``ticket_created_service_idx`` (created_at, service_id): the tickets since the watermark, counted
  live (normally the current hour);
- ``ticket_open_area_idx`` (partial, open): the open-tickets heat table;
- ``ticket_open_queue_idx`` (partial, open): second line's queue length;
- ``ticket_l2_resolved_idx`` (partial, queue = second-line): time to resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, connections
from django.db.models import Count, DateTimeField, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest, Trunc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.replica import read_alias
from customers.models import Service
from dashboard import rollup
from dashboard.models import HourlyTicketCount, RollupState
from incidents.models import Incident, IncidentTicketLink
from notifications.models import Alert, Notification
from tickets.models import Ticket

# Range key → (label, bucket size). "today" starts at local midnight.
RANGES: dict[str, tuple[str, str]] = {
    "today": (_("Today"), "hour"),
    "7d": (_("7 days"), "hour"),
    "30d": (_("30 days"), "day"),
}
DEFAULT_RANGE = "today"
MAX_BANDS = 200  # incident windows drawn on the chart; more would be unreadable anyway


@dataclass(frozen=True)
class Window:
    key: str
    start: datetime
    end: datetime
    step: str  # "hour" or "day"

    @property
    def label(self) -> str:
        return str(RANGES[self.key][0])


def window_for(key: str, now: datetime | None = None) -> Window:
    """The time window a range key stands for, in the desk's time zone; unknown keys mean today."""
    if key not in RANGES:
        key = DEFAULT_RANGE
    now = now or timezone.now()
    local = timezone.localtime(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if key == "today":
        start = midnight
    elif key == "7d":
        start = local.replace(minute=0, second=0, microsecond=0) - timedelta(days=7)
    else:
        start = midnight - timedelta(days=29)
    return Window(key=key, start=start, end=now, step=RANGES[key][1])


def _buckets(window: Window) -> list[datetime]:
    """Every bucket start of the window (buckets without tickets are zeros, not gaps)."""
    tz = timezone.get_current_timezone()
    step = timedelta(hours=1) if window.step == "hour" else timedelta(days=1)
    out, t = [], window.start
    while t <= window.end:
        out.append(t)
        # Day steps add a calendar day in local time (23 or 25 hours across a DST change).
        t = (t + step).astimezone(tz) if window.step == "hour" else _next_day(t, tz)
    return out


def _next_day(t: datetime, tz) -> datetime:
    local = timezone.localtime(t, tz)
    return timezone.make_aware(datetime(local.year, local.month, local.day) + timedelta(days=1), tz)


@dataclass
class Volume:
    """Tickets opened per bucket and service: ``series[i][j]`` is service i's count in bucket j."""

    buckets: list[datetime]
    services: list[dict]
    series: list[list[int]]
    total: int
    auto_linked: int = 0  # of the total, tickets attached to an incident by matching
    bands: list[dict] = field(default_factory=list)


def all_services() -> list[dict]:
    return list(Service.objects.order_by("name").values("id", "code", "name"))


def ticket_volume(window: Window, services: list[dict]) -> Volume:
    """One query for the counts (closed hours from the rollup, the rest live), one for the bands.

    The rollup (dashboard/rollup.py) holds every hour before its watermark; the tickets opened since
    the watermark (normally the current hour: a few hundred rows) are counted from ``tickets_ticket``
    through ``ticket_created_service_idx``. Both halves are grouped by (bucket, service) in the
    database and glued with UNION ALL, so the query reads hundreds of rows whatever the window."""
    tz = timezone.get_current_timezone()
    watermark = Subquery(RollupState.objects.filter(name=rollup.NAME).values("complete_until")[:1])
    start = Value(window.start, output_field=DateTimeField())
    closed = (
        HourlyTicketCount.objects.filter(
            region_id=rollup.ALL_REGIONS, hour__gte=window.start, hour__lte=window.end, hour__lt=watermark
        )
        .annotate(bucket=Trunc("hour", window.step, tzinfo=tz))
        .values("bucket", "service_id")
        .annotate(n=Sum("opened"), auto=Sum("auto_linked"))
        .order_by()
    )
    auto_link = IncidentTicketLink.objects.filter(
        ticket=OuterRef("pk"), origin=IncidentTicketLink.Origin.AUTO, detached_at__isnull=True
    )
    live = (
        Ticket.objects.filter(
            created_at__gte=Greatest(start, Coalesce(watermark, start)), created_at__lte=window.end
        )
        .annotate(bucket=Trunc("created_at", window.step, tzinfo=tz))
        .values("bucket", "service_id")
        .annotate(n=Count("*"), auto=Count("pk", filter=Q(Exists(auto_link))))
        .order_by()
    )
    buckets = _buckets(window)
    position = {b: i for i, b in enumerate(buckets)}
    index = {s["id"]: i for i, s in enumerate(services)}
    unknown = len(services)  # tickets without a service get their own series
    series = [[0] * len(buckets) for _ in range(len(services) + 1)]
    total = auto_linked = 0
    for row in closed.union(live, all=True):  # at most 2 × buckets × services aggregate rows
        j = position.get(row["bucket"])
        if j is None:
            continue
        series[index.get(row["service_id"] or None, unknown)][j] += row["n"]
        total += row["n"]
        auto_linked += row["auto"]
    named = [*services, {"id": None, "code": "", "name": str(_("No service"))}]
    keep = [i for i, s in enumerate(series) if any(s)] or list(range(len(services)))
    return Volume(
        buckets=buckets,
        services=[named[i] for i in keep],
        series=[series[i] for i in keep],
        total=total,
        auto_linked=auto_linked,
        bands=incident_bands(window),
    )


def incident_bands(window: Window) -> list[dict]:
    """Incidents whose window [started, resolved or now] overlaps the range: one query."""
    qs = (
        # A withdrawn incident was declared by mistake, a proposed one (a surge of tickets) is not
        # declared yet: nothing to shade.
        Incident.objects.exclude(status__in=[Incident.Status.WITHDRAWN, Incident.Status.PROPOSED])
        .filter(started_at__lte=window.end)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=window.start))
        .order_by("started_at")
        .values("id", "title", "kind", "severity", "started_at", "resolved_at")[:MAX_BANDS]
    )
    return [
        {
            "id": i["id"],
            "title": i["title"],
            "kind": i["kind"],
            "severity": i["severity"],
            "from": max(i["started_at"], window.start).timestamp(),
            "to": min(i["resolved_at"] or window.end, window.end).timestamp(),
        }
        for i in qs
    ]


@dataclass
class Heat:
    """Open tickets by region (rows) × service (columns); ``cells[r][s]``, ``level`` 0–5 for colour."""

    regions: list[str]
    services: list[dict]
    cells: list[list[tuple[int, int]]]
    total: int
    snapshot: bool = False  # read from the refresh's snapshot (at most a minute or so old)

    @property
    def rows(self) -> list[tuple[str, list[tuple[int, int]]]]:
        return list(zip(self.regions, self.cells, strict=True))


# Open tickets by region and service, from the snapshot the rollup refresh writes every minute when
# that refresh is recent, else counted live (no beat: the embedded default, or beat stopped). One
# statement either way: the freshness test is an uncorrelated subquery, evaluated once, and the branch
# it rules out is never scanned (a one-time filter on PostgreSQL).
_HEAT_SQL = """
WITH leaf AS (
    SELECT area_id, service_id, COUNT(*) AS n
    FROM tickets_ticket
    WHERE status IN ({statuses}) AND NOT EXISTS ({fresh})
    GROUP BY area_id, service_id
)
SELECT r.name, leaf.service_id, SUM(leaf.n), 0
FROM leaf
LEFT JOIN customers_area a ON a.id = leaf.area_id
LEFT JOIN customers_area r ON r.depth = 1 AND a.path LIKE r.path || '%%'
GROUP BY r.name, leaf.service_id
UNION ALL
SELECT r.name, NULLIF(o.service_id, 0), o.open, 1
FROM dashboard_openticketcount o
LEFT JOIN customers_area r ON r.id = o.region_id
WHERE EXISTS ({fresh})
"""
_FRESH_SQL = "SELECT 1 FROM dashboard_rollupstate WHERE name = %s AND refreshed_at >= %s"
HEAT_MAX_AGE = timedelta(minutes=3)  # three missed beats (every 60 s): count live instead


def open_heat(services: list[dict], now: datetime | None = None) -> Heat:
    """One query: open tickets by (region, service) — from the refresh's snapshot while it is
    recent, else grouped by (leaf area, service) first (an index-only scan of
    ``ticket_open_area_idx``) and folded into regions (depth 1 of the area tree) by the
    materialised path. Regions and services without open tickets are left out."""
    statuses = [str(s) for s in Ticket.OPEN_STATUSES]
    sql = _HEAT_SQL.format(statuses=", ".join(["%s"] * len(statuses)), fresh=_FRESH_SQL)
    since = connection.ops.adapt_datetimefield_value((now or timezone.now()) - HEAT_MAX_AGE)
    # Raw SQL skips the router: ask it which copy this request reads (the replica on the dashboard).
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, [*statuses, rollup.NAME, since, rollup.NAME, since])
        rows = cursor.fetchall()
    no_area = str(_("No area"))
    counts: dict[tuple[str, int | None], int] = {}
    snapshot = False
    for region, service_id, n, from_snapshot in rows:  # at most regions × services rows
        snapshot = snapshot or bool(from_snapshot)
        key = (region or no_area, service_id)
        counts[key] = counts.get(key, 0) + int(n)
    regions = sorted({r for r, _s in counts}, key=lambda r: (r == no_area, r))
    used = {s for _r, s in counts}
    cols = [s for s in services if s["id"] in used]
    top = max(counts.values(), default=0)
    cells = []
    for region in regions:
        row = []
        for s in cols:
            n = counts.get((region, s["id"]), 0)
            # Six colour steps relative to the busiest cell (CSS classes heat-0 … heat-5, no inline style).
            row.append((n, 0 if n == 0 else 1 + (4 * n) // top))
        cells.append(row)
    return Heat(regions=regions, services=cols, cells=cells, total=sum(counts.values()), snapshot=snapshot)


@dataclass(frozen=True)
class Credits:
    currency: str
    count: int
    amount: Decimal


@dataclass
class Headline:
    new_tickets: int
    auto_linked: int
    reach_p50: float | None = None  # seconds from declaration to an agent's browser having the alert
    reach_p95: float | None = None
    reach_count: int = 0
    ack_p50: float | None = None  # seconds from declaration to an agent acknowledging it
    ack_p95: float | None = None
    ack_count: int = 0
    second_line_open: int = 0
    second_line_p50: float | None = None  # seconds from opened to resolved, second line
    second_line_resolved: int = 0
    resolved_by_incident: int = 0  # tickets the close-the-loop resolved when their incident did
    customers_notified: int = 0  # distinct customers e-mailed about an incident
    credits: list[Credits] = field(default_factory=list)  # per currency

    @property
    def auto_linked_share(self) -> float | None:
        return self.auto_linked / self.new_tickets if self.new_tickets else None


def _seconds(end: str, start: str) -> str:
    """SQL for ``end - start`` in seconds, on PostgreSQL and on SQLite (the embedded default)."""
    if connection.vendor == "postgresql":
        # date_part gives double precision; EXTRACT gives numeric (PostgreSQL 14+), several times
        # slower to sort and rank (58 ms of 135 for 13,000 values at 30 days on the bench data).
        return f"date_part('epoch', {end} - {start})"
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


# Nearest-rank percentiles, all three measures in one statement: the value whose rank is ceil(p·n).
# Portable form (SQLite): window functions, the rank written (n·p·100 + 99) / 100 in integers.
_LATENCY_SQL = """
WITH d AS (
    SELECT 'reach' AS m, {reach} AS v
    FROM notifications_alertreceipt r JOIN notifications_alert a ON a.id = r.alert_id
    WHERE a.kind = %s AND a.created_at >= %s AND a.created_at <= %s AND r.delivered_at IS NOT NULL
    UNION ALL
    SELECT 'ack', {ack}
    FROM notifications_alertreceipt r JOIN notifications_alert a ON a.id = r.alert_id
    WHERE a.kind = %s AND a.created_at >= %s AND a.created_at <= %s AND r.acknowledged_at IS NOT NULL
    UNION ALL
    SELECT 'second', {took}
    FROM tickets_ticket t
    WHERE t.queue = %s AND t.resolved_at >= %s AND t.resolved_at <= %s
){percentiles}
"""
_PERCENTILES_PORTABLE = """, ranked AS (
    SELECT m, v, ROW_NUMBER() OVER (PARTITION BY m ORDER BY v) AS rn, COUNT(*) OVER (PARTITION BY m) AS n
    FROM d
)
SELECT m, MAX(n),
       MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN v END),
       MAX(CASE WHEN rn = (n * 95 + 99) / 100 THEN v END)
FROM ranked GROUP BY m"""
# PostgreSQL: the same nearest-rank values (percentile_disc returns the first value whose cumulative
# share reaches p) from one sort per measure, without the two window passes (half the time at 30 days).
_PERCENTILES_POSTGRES = """
SELECT m, COUNT(*),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY v),
       percentile_disc(0.95) WITHIN GROUP (ORDER BY v)
FROM d GROUP BY m"""


def headline(window: Window, new_tickets: int, auto_linked: int) -> Headline:
    """Three queries (the new and auto-linked tickets come from ``ticket_volume``): second line's
    queue, the latency percentiles
    (declaration → agents reached / acknowledged, second line's time to resolution) in one, and the
    incidents' outcomes (resolved by incident, customers notified, credits) in one."""
    h = Headline(new_tickets=new_tickets, auto_linked=auto_linked)
    h.second_line_open = Ticket.objects.open().filter(queue=Ticket.Queue.SECOND_LINE).count()
    sql = _LATENCY_SQL.format(
        reach=_seconds("r.delivered_at", "a.created_at"),
        ack=_seconds("r.acknowledged_at", "a.created_at"),
        took=_seconds("t.resolved_at", "t.created_at"),
        percentiles=_PERCENTILES_POSTGRES if connection.vendor == "postgresql" else _PERCENTILES_PORTABLE,
    )
    declared = str(Alert.Kind.INCIDENT_DECLARED)
    span = [window.start, window.end]
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, [declared, *span, declared, *span, str(Ticket.Queue.SECOND_LINE), *span])
        for m, n, p50, p95 in cursor.fetchall():
            p50 = float(p50) if p50 is not None else None
            p95 = float(p95) if p95 is not None else None
            if m == "reach":
                h.reach_count, h.reach_p50, h.reach_p95 = n, p50, p95
            elif m == "ack":
                h.ack_count, h.ack_p50, h.ack_p95 = n, p50, p95
            else:
                h.second_line_resolved, h.second_line_p50 = n, p50
    incident_outcomes(window, h)
    return h


# What incidents did for customers in the window, in one pass over the incidents that overlap it
# (their links, notifications and credits are read through indexes that lead with the incident).
# "Resolved by incident": the link's resolution reply and the ticket's resolution carry the same
# instant (incidents.services._close_chunk writes both), so a ticket kept open, or reopened and
# resolved later by a person, does not count.
_OUTCOMES_SQL = """
WITH inc AS (
    SELECT id FROM incidents_incident
    WHERE started_at <= %s AND (resolved_at IS NULL OR resolved_at >= %s)
)
SELECT 'resolved', '', COUNT(DISTINCT l.ticket_id), 0
FROM incidents_incidentticketlink l JOIN tickets_ticket t ON t.id = l.ticket_id
WHERE l.incident_id IN (SELECT id FROM inc) AND l.detached_at IS NULL
  AND l.resolution_replied_at >= %s AND l.resolution_replied_at <= %s
  AND t.resolved_at = l.resolution_replied_at
UNION ALL
SELECT 'notified', '', COUNT(DISTINCT n.customer_id), 0
FROM notifications_notification n
WHERE n.incident_id IN (SELECT id FROM inc) AND n.state = %s AND n.sent_at >= %s AND n.sent_at <= %s
UNION ALL
SELECT 'credits', c.currency, COUNT(*), SUM(c.amount)
FROM incidents_credit c
WHERE c.incident_id IN (SELECT id FROM inc) AND c.created_at >= %s AND c.created_at <= %s
GROUP BY c.currency
"""


def incident_outcomes(window: Window, h: Headline) -> None:
    """One query: tickets resolved by their incident's resolution, customers notified about an
    incident (e-mails sent), and credits computed — all within the window — into ``h``."""
    # As the ORM would pass them (SQLite compares datetimes as text, in its own format).
    start, end = (connection.ops.adapt_datetimefield_value(v) for v in (window.start, window.end))
    params = [end, start, start, end, str(Notification.State.SENT), start, end, start, end]
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(_OUTCOMES_SQL, params)
        for kind, currency, n, amount in cursor.fetchall():
            if kind == "resolved":
                h.resolved_by_incident = n
            elif kind == "notified":
                h.customers_notified = n
            else:
                h.credits.append(Credits(currency=currency, count=n, amount=Decimal(str(amount))))
    h.credits.sort(key=lambda c: c.currency)


@dataclass
class Dashboard:
    window: Window
    volume: Volume
    heat: Heat
    headline: Headline


def dashboard(window: Window) -> Dashboard:
    """Everything on the page: seven queries, whatever the size of the data."""
    services = all_services()
    volume = ticket_volume(window, services)
    return Dashboard(
        window=window,
        volume=volume,
        heat=open_heat(services),
        headline=headline(window, volume.total, volume.auto_linked),
    )
