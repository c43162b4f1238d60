"""Operations dashboard with 1,000,000 tickets in the table (DESIGN.md: p95 ≤ 200 ms).

Loads the scale data with ``supportdesk.seeding.load_scale_data`` (COPY) into its own database, adds
incidents over the last 30 days with their auto links (one INSERT … SELECT each), declaration alerts
with receipts from 60 agents, and second-line tickets resolved over the month; then renders the real
``dashboard:page`` view through Django's test client (middleware, session, roles, the queries and the
template) for each range: today, 7 days, 30 days.

The naive baseline, timed in the same run on the same data: the same figures computed in Python
over the rows (what a dashboard built on ``for ticket in Ticket.objects.filter(...)`` does), no template.

Run:  BENCH_DB=sd_dashboard_bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
      .venv/bin/python bench/bench_dashboard.py [--customers 1000000] [--requests 100] [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from benchdb import database_url, drop_database, load_average, percentile, recreate_database, time_get

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Own database per engineer when several run benches on one server.
BENCH_DB = os.environ.get("BENCH_DB", "supportdesk_bench_dashboard")
AGENTS = 60
INCIDENTS = 30


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=1_000_000, help="customers (about one ticket each)")
    p.add_argument("--requests", type=int, default=100, help="timed requests per range")
    p.add_argument("--naive-runs", type=int, default=3, help="timed runs of the naive baseline per range")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    p.add_argument("--reuse", action="store_true", help="reuse a kept bench database (skip the load)")
    return p.parse_args()


def add_incident_history(now) -> None:
    """Incidents over the last 30 days, their links (set-based), declaration alerts and receipts,
    and second-line tickets resolved over the month."""
    import random

    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction

    from customers.models import Service
    from incidents.models import Incident
    from notifications.models import Alert, AlertReceipt

    rnd = random.Random(17)
    agent_group = Group.objects.get(name="agent")
    agents = []
    for i in range(AGENTS):
        user, _ = User.objects.get_or_create(username=f"bench-agent-{i}")
        user.groups.add(agent_group)
        agents.append(user)
    services = list(Service.objects.all())
    with transaction.atomic():
        for n in range(INCIDENTS):
            started = now - timedelta(days=30) + timedelta(hours=rnd.uniform(0, 30 * 24 - 6))
            resolved = started + timedelta(hours=rnd.uniform(1, 12))
            active = n == INCIDENTS - 1  # the last one is still going on
            if active:
                started, resolved = now - timedelta(hours=3), None
            service = rnd.choice(services)
            incident = Incident.objects.create(
                title=f"Bench outage {n}",
                kind="outage",
                severity=rnd.choice([1, 2, 3]),
                status="investigating" if active else "resolved",
                started_at=started,
                detected_at=started,
                created_at=started,
                resolved_at=resolved,
            )
            incident.services.add(service)
            with connection.cursor() as cur:
                cur.execute(
                    """
                    INSERT INTO incidents_incidentticketlink
                        (incident_id, ticket_id, score, reasons, origin, created_at, detach_reason)
                    SELECT %s, t.id, 1.0, '{"service": true}', 'auto', t.created_at, ''
                    FROM tickets_ticket t
                    WHERE t.service_id = %s AND t.created_at >= %s AND t.created_at < %s
                    """,
                    [incident.pk, service.pk, started, resolved or now],
                )
            alert = Alert.objects.create(
                kind=Alert.Kind.INCIDENT_DECLARED, incident=incident, created_at=started, pushed_at=started
            )
            AlertReceipt.objects.bulk_create(
                AlertReceipt(
                    alert=alert,
                    user=a,
                    delivered_at=started + timedelta(seconds=rnd.expovariate(1 / 0.4)),
                    seen_at=started + timedelta(seconds=rnd.uniform(1, 30)),
                    acknowledged_at=(
                        started + timedelta(seconds=rnd.uniform(20, 300)) if rnd.random() < 0.8 else None
                    ),
                )
                for a in agents
            )
        # A slice of the month's resolved technical tickets went through second line.
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE tickets_ticket SET queue = 'second-line' "
                "WHERE category = 'technical' AND resolved_at >= %s AND id %% 20 = 0",
                [now - timedelta(days=30)],
            )
    with connection.cursor() as cur:
        # Index-only scans need the visibility map: what autovacuum does to a real table over time.
        cur.execute("VACUUM ANALYZE tickets_ticket")
        cur.execute("VACUUM ANALYZE incidents_incidentticketlink")
        cur.execute("VACUUM ANALYZE notifications_alertreceipt")


def naive_figures(range_key: str) -> float:
    """The same figures by iterating rows in Python; returns ms."""
    from django.utils import timezone

    from customers.models import Area
    from dashboard.selectors import window_for
    from incidents.models import IncidentTicketLink
    from notifications.models import AlertReceipt
    from tickets.models import Ticket

    t0 = time.perf_counter()
    window = window_for(range_key)
    tz = timezone.get_current_timezone()
    volume: dict = {}
    new = 0
    for created, service_id in Ticket.objects.filter(created_at__gte=window.start).values_list(
        "created_at", "service_id"
    ):
        local = created.astimezone(tz)
        bucket = local.replace(minute=0, second=0, microsecond=0)
        if window.step == "day":
            bucket = bucket.replace(hour=0)
        volume[(bucket, service_id)] = volume.get((bucket, service_id), 0) + 1
        new += 1
    region_of = {}
    paths = dict(Area.objects.values_list("id", "path"))
    regions = {a.path: a.name for a in Area.objects.filter(depth=1)}
    for area_id, path in paths.items():
        region_of[area_id] = regions.get("/".join(path.split("/")[:2]) + "/")
    heat: dict = {}
    for area_id, service_id in Ticket.objects.open().values_list("area_id", "service_id"):
        key = (region_of.get(area_id), service_id)
        heat[key] = heat.get(key, 0) + 1
    linked = {
        t
        for t, created in IncidentTicketLink.objects.filter(
            origin="auto", detached_at__isnull=True
        ).values_list("ticket_id", "ticket__created_at")
        if created >= window.start
    }
    reach = sorted(
        (d - c).total_seconds()
        for d, c in AlertReceipt.objects.filter(
            alert__kind="incident-declared", alert__created_at__gte=window.start, delivered_at__isnull=False
        ).values_list("delivered_at", "alert__created_at")
    )
    took = sorted(
        (r - c).total_seconds()
        for r, c in Ticket.objects.filter(queue="second-line", resolved_at__gte=window.start).values_list(
            "resolved_at", "created_at"
        )
    )
    _ = (len(linked) / max(1, new), reach and reach[len(reach) // 2], took and took[len(took) // 2])
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/supportdesk")
    bench_url = database_url(url, BENCH_DB) if args.reuse else recreate_database(url, BENCH_DB)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.pop("REDIS_URL", None)  # the page needs no Redis; keep the bench self-contained
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from dashboard.models import HourlyTicketCount, RollupState
    from dashboard.rollup import rollup_refresh
    from dashboard.selectors import RANGES
    from incidents.models import IncidentTicketLink
    from supportdesk.seeding import ensure_catalogue, load_scale_data
    from tickets.models import Ticket

    settings.ALLOWED_HOSTS = ["*"]
    try:
        call_command("migrate", verbosity=0)  # also on --reuse: the kept database may predate a migration
        if not args.reuse:
            ensure_catalogue()
            t0 = time.perf_counter()
            load_scale_data(customers=args.customers)
            add_incident_history(timezone.now())
            print(
                f"loaded {args.customers:,} customers and the incident history in {time.perf_counter() - t0:.1f} s"
            )
        print(
            f"{Ticket.objects.count():,} tickets, {Ticket.objects.open().count():,} open, "
            f"{IncidentTicketLink.objects.count():,} links; load average {load_average()}"
        )
        ops, _ = User.objects.get_or_create(username="bench-ops")
        ops.groups.add(Group.objects.get(name="ops"))
        client = Client()
        client.force_login(ops)

        # 1. Without the rollup (no watermark: every ticket of the window counted live).
        HourlyTicketCount.objects.all().delete()
        RollupState.objects.all().delete()
        live = {key: time_get(client, f"/ops/dashboard/?range={key}", args.requests)[0] for key in RANGES}
        # 2. The rollup: the first run backfills every hour, then what beat does every minute.
        t0 = time.perf_counter()
        done = rollup_refresh()
        backfill = time.perf_counter() - t0
        t0 = time.perf_counter()
        rollup_refresh()
        steady = time.perf_counter() - t0
        print(
            f"rollup: backfill {backfill * 1000:,.0f} ms ({done.written:,} rows), "
            f"beat refresh {steady * 1000:,.0f} ms; load average {load_average()}"
        )
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE dashboard_hourlyticketcount")
        print(
            f"{'range':<7} {'live p50':>9} {'live p95':>9} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} "
            f"{'naive ms':>10} {'naive/ours':>10} {'live/ours':>9}  load"
        )
        for key in RANGES:
            rollup_refresh()  # what beat does every minute: keeps the open-tickets snapshot recent
            times, queries, _status = time_get(client, f"/ops/dashboard/?range={key}", args.requests)
            naive = statistics.median(naive_figures(key) for _ in range(args.naive_runs))
            p50, p95 = statistics.median(times), percentile(times, 0.95)
            live_p50, live_p95 = statistics.median(live[key]), percentile(live[key], 0.95)
            print(
                f"{key:<7} {live_p50:>9.1f} {live_p95:>9.1f} {p50:>8.1f} {p95:>8.1f} {queries:>8} "
                f"{naive:>10.1f} {naive / p50:>9.1f}× {live_p50 / p50:>8.1f}×  {load_average()}"
            )
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(url, BENCH_DB)


if __name__ == "__main__":
    main()
