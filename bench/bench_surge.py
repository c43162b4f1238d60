"""Surge detection against ground truth: a synthetic month replayed minute by minute through the real
detector (``incidents.surge.detect_surges``), on PostgreSQL. DESIGN.md's targets: recall ≥ 95 % for
outages producing ≥ 5 tickets in 15 minutes, median delay ≤ 5 minutes, ≤ 1 false proposal per day,
and the detector's query ≤ 200 ms at 1,000,000 tickets.

The traffic (seeded, reproducible):

* background tickets with a daily rhythm (quiet nights, a morning and an evening peak) and a weekly
  one (busy Mondays, quiet weekends), an hourly national noise factor (log-normal, σ = 0.2) on top
  of Poisson arrivals; placed over the seed catalogue's areas by its municipality weights (roughly
  population) and over the services each leaf can get; 60 % technical, the rest billing/sales/other;
* four weeks of history before the evaluated month, so the same-hour-of-week baseline has its data;
* injected outages in the evaluated month: a service in one postcode, municipality or region, or one
  equipment model everywhere, with a size (tickets in 15 minutes at full strength) from 3 to 40, a
  5-minute ramp and a duration of 30 minutes to 3 hours; their tickets are the ground truth;
* decoys: a bulk mailing (one service, every area, three hours, three times the usual traffic, 90 %
  of it billing questions); and the big city's Monday morning, which is 2.5 times any other morning
  in Stockholm every week (history included) — a normal Monday, not an outage.

Each minute of the month the harness runs the detector with ``now`` at that minute; a proposal is
left to "ops", who dismiss it 30 simulated minutes later (the real ``surge_dismiss``: it is the
detection we measure, so no proposal is confirmed). A proposal is a true detection of the outage
whose injected tickets are the majority of its cluster when it is proposed; otherwise it is false.
Delay is proposal time minus outage start.

Then the table is filled to 1,000,000 tickets (older, resolved; one INSERT … SELECT) and one
detector run (its three statements) is timed at busy minutes, against a same-run naive baseline:
the same cells counted in Python over the rows of the window and of the four baseline hours.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_DB=sd_surge_bench \\
      .venv/bin/python bench/bench_surge.py [--days 30] [--per-day 3000] [--outages 60] [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path

from benchdb import database_url, drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("BENCH_DB", "sd_surge_bench")

SERVICE_SHARE = {
    "broadband": 35,
    "dsl": 15,
    "mobile-4g": 12,
    "mobile-5g": 5,
    "email": 15,
    "iptv": 10,
    "voip": 8,
}
# Relative ticket rate by hour of day (UTC, close enough to the Nordic day for a rhythm).
HOURLY = [0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.5, 1.0, 1.6, 1.8, 1.7, 1.5, 1.3, 1.3, 1.3, 1.3, 1.4, 1.6,
          1.8, 1.8, 1.5, 1.1, 0.6, 0.3]  # fmt: skip
WEEKLY = [1.3, 1.1, 1.0, 1.0, 0.95, 0.7, 0.65]  # Monday first
TECHNICAL_SHARE = 0.6
SIZES = [3, 5, 7, 10, 15, 25, 40]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--month", type=int, default=30, help="generated days (after 28 days of history)")
    p.add_argument("--days", type=int, default=None, help="replayed days (default: the whole month)")
    p.add_argument("--first-day", type=int, default=0, help="replay from this day of the month")
    p.add_argument("--per-day", type=int, default=3000, help="background tickets per average day")
    p.add_argument("--outages", type=int, default=60, help="injected outages in the evaluated days")
    p.add_argument("--fill", type=int, default=1_000_000, help="tickets in the table for the timing")
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="reuse a kept bench database with the same month (regenerated in memory, not inserted); "
        "implies --keep",
    )
    p.add_argument(
        "--plot-outage", type=int, help="replay only around this outage and plot it (bench/surge_outage.svg)"
    )
    p.add_argument("--json", type=Path, help="write the replay's raw results here (for --combine)")
    p.add_argument("--combine", type=Path, nargs="+", help="print the figures of several --json files")
    return p.parse_args()


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def poisson(rnd: random.Random, lam: float) -> int:
    """Knuth's method for small means, normal approximation for large ones."""
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, int(round(rnd.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rnd.random()
        if p <= limit:
            return k
        k += 1


@dataclass
class Outage:
    id: int
    level: str  # postcode, municipality, region, equipment
    service: str
    where: str  # area code or equipment code
    start: datetime
    minutes: int
    size: int  # tickets per 15 minutes at full strength
    ticket_ids: set[int] = field(default_factory=set)
    detected_at: datetime | None = None
    detected_level: str = ""
    usual_per_15: float = 0.0  # the baseline of the cell that detected it, per 15 minutes

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)

    def rate(self, at: datetime) -> float:
        """Tickets per minute: a 5-minute ramp, then full strength until the end."""
        since = (at - self.start).total_seconds() / 60
        if since < 0 or at >= self.end:
            return 0.0
        return self.size / 15 * min(1.0, (since + 1) / 5)


class World:
    """The catalogue as the generator sees it: leaves with weights and services, the tree above them."""

    def __init__(self, catalogue, rnd: random.Random):
        self.rnd = rnd
        self.services = catalogue.services
        self.equipment = catalogue.equipment
        self.leaves = []  # (area, weight, services)
        for area, _country, available, weight in catalogue.leaves:
            self.leaves.append((area, weight, available))
        total = sum(w * sum(SERVICE_SHARE[s] for s in av) for _a, w, av in self.leaves)
        # (leaf area, service code) -> share of all tickets
        self.cells = {(a.code, s): w * SERVICE_SHARE[s] / total for a, w, av in self.leaves for s in av}
        self.cell_keys = list(self.cells)
        self.cell_cum = list(_cumulative(self.cells[k] for k in self.cell_keys))
        self.area_by_code = {a.code: a for a, _w, _av in self.leaves}
        self.stockholm = "se-ab-0180"

    def leaves_under(self, code: str) -> list[str]:
        return [a.code for a, _w, _av in self.leaves if f"/{code}/" in f"/{a.path}"]

    def pick_cell(self) -> tuple[str, str]:
        return self.cell_keys[_bisect(self.cell_cum, self.rnd.random())]

    def equipment_for(self, service: str) -> str | None:
        from supportdesk.seeding.catalogue import EQUIPMENT_FOR_SERVICE

        choices = EQUIPMENT_FOR_SERVICE[service]
        codes, weights = zip(*choices, strict=True)
        return self.rnd.choices(codes, weights)[0]


def _cumulative(values) -> list[float]:
    out, running = [], 0.0
    for v in values:
        running += v
        out.append(running)
    return [x / running for x in out]


def _bisect(cum: list[float], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def plan_outages(world: World, rnd: random.Random, *, start: datetime, days: int, count: int) -> list[Outage]:
    from customers.models import Area

    areas = {a.code: a for a in Area.objects.all()}
    munis = [c for c, a in areas.items() if a.kind == "municipality"]
    regions = [c for c, a in areas.items() if a.kind == "region"]
    outages = []
    # Spread over the month, at most one starting per 8 hours so ground truths rarely overlap.
    slots = rnd.sample(range(days * 3), count)
    for i, slot in enumerate(sorted(slots)):
        level = rnd.choices(["postcode", "municipality", "region", "equipment"], [45, 25, 15, 15])[0]
        if level == "equipment":
            service = rnd.choice(["broadband", "dsl", "mobile-5g"])
            where = world.equipment_for(service)
        else:
            where = rnd.choice(
                {"postcode": list(world.area_by_code), "municipality": munis, "region": regions}[level]
            )
            offered = {s for leaf in world.leaves_under(where) for (c, s) in world.cells if c == leaf}
            service = rnd.choice(sorted(offered))
        begin = start + timedelta(hours=slot * 8 + rnd.uniform(0, 6))
        outages.append(
            Outage(
                id=i,
                level=level,
                service=service,
                where=where,
                start=begin.replace(second=0, microsecond=0),
                minutes=rnd.choice([30, 45, 60, 90, 120, 180]),
                size=SIZES[i % len(SIZES)],
            )
        )
    return outages


def generate(world: World, rnd: random.Random, *, begin: datetime, minutes: int, per_day: int,
             outages: list[Outage], mailing: tuple[datetime, str]) -> list[tuple]:  # fmt: skip
    """Every ticket of the period as (created_at, leaf, service, equipment, category, outage id)."""
    rows = []
    per_minute = per_day / 1440
    mean_rhythm = sum(HOURLY) / 24 * sum(WEEKLY) / 7
    noise = 1.0
    mail_start, mail_service = mailing
    for m in range(minutes):
        at = begin + timedelta(minutes=m)
        if at.minute == 0:
            noise = math.exp(rnd.gauss(-0.02, 0.2))
        lam = per_minute * HOURLY[at.hour] * WEEKLY[at.weekday()] / mean_rhythm * noise
        for _ in range(poisson(rnd, lam)):
            leaf, service = world.pick_cell()
            category = (
                "technical" if rnd.random() < TECHNICAL_SHARE else rnd.choice(["billing", "sales", "other"])
            )
            rows.append((at, leaf, service, world.equipment_for(service), category, None))
        # The big city's Monday morning: 2.5 times another morning in Stockholm, every week.
        if at.weekday() == 0 and 7 <= at.hour < 11:
            share = sum(v for (leaf, _s), v in world.cells.items() if leaf in world.stockholm_leaves)
            for _ in range(poisson(rnd, lam * share * 1.5)):
                leaf, service = world.pick_cell()
                while leaf not in world.stockholm_leaves:
                    leaf, service = world.pick_cell()
                category = "technical" if rnd.random() < TECHNICAL_SHARE else "billing"
                rows.append((at, leaf, service, world.equipment_for(service), category, None))
        # The bulk mailing: three hours, one service, everywhere, mostly billing questions.
        if mail_start <= at < mail_start + timedelta(hours=3):
            share = SERVICE_SHARE[mail_service] / sum(SERVICE_SHARE.values())
            for _ in range(poisson(rnd, lam * share * 3)):
                leaf, service = world.pick_cell()
                while service != mail_service:
                    leaf, service = world.pick_cell()
                category = "technical" if rnd.random() < 0.1 else rnd.choice(["billing", "other"])
                rows.append((at, leaf, service, world.equipment_for(service), category, None))
        for outage in outages:
            rate = outage.rate(at)
            if not rate:
                continue
            for _ in range(poisson(rnd, rate)):
                if outage.level == "equipment":
                    leaf, service = world.pick_cell()
                    while service != outage.service:
                        leaf, service = world.pick_cell()
                    equipment = outage.where
                else:
                    leaf = rnd.choice(outage.leaves)
                    service, equipment = outage.service, world.equipment_for(outage.service)
                category = "technical" if rnd.random() < 0.95 else "other"
                rows.append(
                    (
                        at + timedelta(seconds=rnd.uniform(0, 59)),
                        leaf,
                        service,
                        equipment,
                        category,
                        outage.id,
                    )
                )
    return rows


def insert(rows: list[tuple], *, world: World) -> dict[int, int]:
    """Bulk-insert the tickets (COPY-free: bulk_create in batches); returns ticket id → outage id."""
    from customers.models import Customer
    from tickets.models import Ticket

    customer = Customer.objects.create(number="99000001", name="Bench customer")
    areas = {c: a.pk for c, a in world.area_by_code.items()}
    services = {c: s.pk for c, s in world.services.items()}
    equipment = {c: e.pk for c, e in world.equipment.items()}
    truth: dict[int, int] = {}
    batch = 5000
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        objs = [
            Ticket(
                customer=customer,
                channel="phone",
                category=category,
                service_id=services[service],
                area_id=areas[leaf],
                equipment_id=equipment.get(eq) if eq else None,
                subject="No connection",
                description="Synthetic",
                status="new",
                created_at=at,
                updated_at=at,
            )
            for at, leaf, service, eq, category, _o in chunk
        ]
        created = Ticket.objects.bulk_create(objs)
        for obj, row in zip(created, chunk, strict=True):
            if row[5] is not None:
                truth[obj.pk] = row[5]
    return truth


def replay(*, begin: datetime, minutes: int, outages: list[Outage], truth: dict[int, int]) -> dict:
    from incidents import surge
    from incidents.models import Incident, SurgeProposal, SurgeTicket

    by_id = {o.id: o for o in outages}
    pending: list[tuple[datetime, SurgeProposal]] = []
    false_props, true_props, duplicates, merged = [], [], 0, 0
    run_ms = []
    for m in range(minutes):
        now = begin + timedelta(minutes=m)
        t0 = time.perf_counter()
        result = surge.detect_surges(now=now)
        run_ms.append((time.perf_counter() - t0) * 1000)
        merged += getattr(result, "merged", 0)
        for proposal in result.proposed:
            cluster = list(SurgeTicket.objects.filter(proposal=proposal).values_list("ticket_id", flat=True))
            votes = Counter(truth.get(t) for t in cluster)
            winner, n = votes.most_common(1)[0]
            if winner is not None and n * 2 > len(cluster):
                outage = by_id[winner]
                true_props.append((proposal, outage))
                if outage.detected_at is None:
                    outage.detected_at, outage.detected_level = now, proposal.level
                    outage.usual_per_15 = proposal.expected * 15 / proposal.window_minutes
                else:
                    duplicates += 1
            else:
                false_props.append((now, proposal, len(cluster), proposal.expected))
            pending.append((now + timedelta(minutes=30), proposal))
        while pending and pending[0][0] <= now:
            _due, proposal = pending.pop(0)
            incident = Incident.objects.get(pk=proposal.incident_id)
            if SurgeProposal.objects.filter(pk=proposal.pk, state="open").exists():
                surge.surge_dismiss(incident=incident, actor=None, reason="bench", now=now)
    return {
        "false": false_props,
        "true": true_props,
        "duplicates": duplicates,
        "merged": merged,
        "run_ms": run_ms,
    }


def fill_to(total: int, *, before: datetime) -> float:
    """Old resolved tickets up to ``total`` rows (one INSERT … SELECT), then ANALYZE; returns seconds."""
    from django.db import connection

    from tickets.models import Ticket

    have = Ticket.objects.count()
    if have >= total:
        return 0.0
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tickets_ticket (customer_id, channel, category, service_id, area_id, equipment_id,
                subject, description, status, priority, queue, created_at, updated_at, resolved_at,
                sla_breached, keep_open, needs_attention, service_source)
            SELECT c.customer_id, 'phone', (ARRAY['technical','billing','other'])[1 + mod(g, 3)],
                   s.service_id, s.area_id, s.equipment_id, 'Old', 'Synthetic', 'closed', 2, 'first-line',
                   %(before)s - mod(g, 300000) * interval '1 minute' - interval '1 day',
                   %(before)s - mod(g, 300000) * interval '1 minute',
                   %(before)s - mod(g, 300000) * interval '1 minute', false, false, false, 'given'
            FROM generate_series(1, %(n)s) AS g
            CROSS JOIN LATERAL (
                SELECT customer_id, service_id, area_id, equipment_id FROM tickets_ticket
                WHERE id = 1 + mod(g::bigint * 7919, %(have)s)) AS s
            CROSS JOIN LATERAL (SELECT s.customer_id) AS c(customer_id)
            """,
            {"n": total - have, "before": before, "have": have},
        )
        cursor.execute("ANALYZE tickets_ticket")
    return time.perf_counter() - t0


def naive_cells(now: datetime) -> int:
    """The naive baseline: the same counting in Python over the rows (window + four baseline spans)."""
    from django.conf import settings

    from tickets.models import Ticket

    counts: Counter = Counter()
    half = timedelta(minutes=settings.SURGE_BASELINE_SPAN_MINUTES / 2)
    centre = timedelta(minutes=7, seconds=30)
    windows = [(now - timedelta(minutes=15), now)] + [
        (now - timedelta(weeks=k) - centre - half, now - timedelta(weeks=k) - centre + half)
        for k in range(1, 5)
    ]
    for lo, hi in windows:
        for t in Ticket.objects.filter(
            created_at__gt=lo, created_at__lte=hi, category="technical"
        ).select_related("area"):
            parts = t.area.path.strip("/").split("/") if t.area else []
            for level, part in zip(("region", "municipality", "postcode"), parts[1:], strict=False):
                counts[(t.service_id, level, part)] += 1
            counts[(t.service_id, "equipment", t.equipment_id)] += 1
    return len(counts)


def time_detector(moments: list[datetime], repeat: int = 3) -> tuple[list[float], list[float]]:
    """One detector run's three statements per moment, rolled back (nothing proposed), and the naive."""
    from django.db import transaction

    from incidents import surge

    class Rollback(Exception):
        pass

    ms, naive = [], []
    for now in moments:
        for _ in range(repeat):
            t0 = time.perf_counter()
            try:
                with transaction.atomic():
                    surge.detect_surges(now=now)
                    raise Rollback
            except Rollback:
                pass
            ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        naive_cells(now)
        naive.append((time.perf_counter() - t0) * 1000)
    return ms, naive


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def svg_plot(path: Path, *, outage: Outage, rows: list[tuple], world: World, baseline_per_15: float) -> None:
    """A small SVG (no plotting library): the outage cell's tickets per minute, the baseline (per
    minute) and the moment of the proposal."""
    lo, hi = outage.start - timedelta(minutes=60), outage.end + timedelta(minutes=30)
    if outage.level == "equipment":
        in_cell = lambda r: r[3] == outage.where and r[2] == outage.service  # noqa: E731
    else:
        leaves = set(outage.leaves)
        in_cell = lambda r: r[1] in leaves and r[2] == outage.service  # noqa: E731
    per_min = Counter(
        int((r[0] - lo).total_seconds() // 60)
        for r in rows
        if lo <= r[0] < hi and r[4] == "technical" and in_cell(r)
    )
    n = int((hi - lo).total_seconds() // 60)
    rolling = [sum(per_min.get(j, 0) for j in range(i - 14, i + 1)) for i in range(n)]
    width, height, pad = 720, 260, 40
    top = max(3, max(rolling, default=1), math.ceil(baseline_per_15))
    sx = (width - 2 * pad) / n
    sy = (height - 2 * pad) / top
    bars = "".join(
        f'<rect x="{pad + i * sx:.1f}" y="{height - pad - c * sy:.1f}" width="{max(sx - 0.5, 0.5):.1f}" '
        f'height="{c * sy:.1f}" fill="#4a78b5"/>'
        for i, c in sorted(per_min.items())
    )
    base_y = height - pad - baseline_per_15 * sy
    points = " ".join(f"{pad + (i + 1) * sx:.1f},{height - pad - c * sy:.1f}" for i, c in enumerate(rolling))
    lines = [
        f'<polyline points="{points}" fill="none" stroke="#123" stroke-width="1.5"/>',
        f'<line x1="{pad}" y1="{base_y:.1f}" x2="{width - pad}" y2="{base_y:.1f}" stroke="#2a2" stroke-dasharray="4 3"/>',
        f'<text x="{width - pad}" y="{base_y - 4:.1f}" font-size="11" text-anchor="end" fill="#2a2">usual: '
        f"{baseline_per_15:.1f} per 15 min</text>",
    ]
    start_x = pad + (outage.start - lo).total_seconds() / 60 * sx
    lines.append(
        f'<line x1="{start_x:.1f}" y1="{pad}" x2="{start_x:.1f}" y2="{height - pad}" stroke="#999"/>'
    )
    lines.append(
        f'<text x="{start_x + 3:.1f}" y="{pad + 10}" font-size="11" fill="#666">outage starts</text>'
    )
    if outage.detected_at:
        x = pad + (outage.detected_at - lo).total_seconds() / 60 * sx
        lines.append(
            f'<line x1="{x:.1f}" y1="{pad}" x2="{x:.1f}" y2="{height - pad}" stroke="#c22" stroke-width="2"/>'
        )
        lines.append(f'<text x="{x + 3:.1f}" y="{pad + 24}" font-size="11" fill="#c22">proposed</text>')
    axis = (
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>'
        f'<text x="{pad}" y="{height - 12}" font-size="11">{lo:%Y-%m-%d %H:%M} UTC</text>'
        f'<text x="{width - pad}" y="{height - 12}" font-size="11" text-anchor="end">{hi:%H:%M} UTC</text>'
        f'<text x="{pad}" y="{pad - 10}" font-size="12">{outage.service} in {outage.where} ({outage.level}), '
        f"size {outage.size}/15 min: tickets per minute (bars), in the last 15 min (line)</text>"
        f'<text x="8" y="{pad + 4}" font-size="11">{top}</text>'
    )
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>{bars}{"".join(lines)}{axis}</svg>\n'
    )


def svg_to_png(svg: Path) -> Path | None:
    """The SVG as a PNG, rendered by the Chromium the browser tests use (no plotting library)."""
    try:
        from playwright.sync_api import sync_playwright

        png = svg.with_suffix(".png")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 720, "height": 260})
            page.goto(svg.as_uri())
            page.screenshot(path=str(png))
            browser.close()
        return png
    except Exception as exc:  # no Chromium here: the SVG is the figure
        print(f"(no PNG: {exc!r})")
        return None


def main() -> None:
    args = parse_args()
    if args.combine:
        results = [json.loads(path.read_text()) for path in args.combine]
        print_figures(results)
        return
    days = args.days if args.days is not None else args.month - args.first_day
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    reused = args.reuse and database_exists(url, BENCH_DB)
    bench_url = database_url(url, BENCH_DB) if reused else recreate_database(url, BENCH_DB)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.pop("REDIS_URL", None)
    import logging

    import django

    django.setup()
    logging.getLogger("incidents.surge").setLevel(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command

    from supportdesk.seeding import ensure_catalogue

    knobs = {k: getattr(settings, k) for k in dir(settings) if k.startswith("SURGE_")}
    print("settings: " + ", ".join(f"{k[6:].lower()}={v}" for k, v in sorted(knobs.items())))
    rnd = random.Random(args.seed)
    try:
        call_command("migrate", verbosity=0)
        catalogue = ensure_catalogue()
        world = World(catalogue, rnd)
        world.stockholm_leaves = set(world.leaves_under(world.stockholm))
        history = 28
        # A Monday at midnight, so weeks line up with the calendar.
        eval_begin = datetime(2026, 10, 5, tzinfo=dt_timezone.utc)
        begin = eval_begin - timedelta(days=history)
        outages = plan_outages(world, rnd, start=eval_begin, days=args.month, count=args.outages)
        for o in outages:
            o.leaves = world.leaves_under(o.where) if o.level != "equipment" else []
        mailing = (eval_begin + timedelta(days=9, hours=9), "broadband")
        t0 = time.perf_counter()
        rows = generate(world, rnd, begin=begin, minutes=(history + args.month) * 1440, per_day=args.per_day,
                        outages=outages, mailing=mailing)  # fmt: skip
        truth = reuse_tickets(rows) if reused else None
        if truth is None:
            truth = insert(rows, world=world)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        for ticket_id, outage_id in truth.items():
            outages[outage_id].ticket_ids.add(ticket_id)
        print(
            f"{'reused' if reused else 'generated'} {len(rows):,} tickets ({history} days of history + "
            f"{args.month} evaluated, {len(truth):,} from {len(outages)} injected outages) in "
            f"{time.perf_counter() - t0:.0f} s; load average {load_average()}"
        )
        truth_times = defaultdict(list)
        for row in rows:
            if row[5] is not None:
                truth_times[row[5]].append(row[0])
        first = eval_begin + timedelta(days=args.first_day)
        last = first + timedelta(days=days)
        # An outage that starts before the end of the range is followed to its end (3 hours at most).
        tail = 0 if args.first_day + days >= args.month else 180
        if args.plot_outage is not None:  # just the hour before it and its own time
            o = outages[args.plot_outage]
            first, last, tail, days = (
                o.start - timedelta(hours=1),
                o.start + timedelta(minutes=1),
                o.minutes,
                0,
            )
        if days == 0 and args.plot_outage is None:  # --days 0: only the timing at --fill tickets
            time_at_fill(args.fill, begin=begin, eval_begin=eval_begin)
            return
        t0 = time.perf_counter()
        res = replay(begin=first, minutes=days * 1440 + tail + (60 if args.plot_outage is not None else 0),
                     outages=outages, truth=truth)  # fmt: skip
        replay_s = time.perf_counter() - t0
        print(
            f"replayed days {args.first_day}–{args.first_day + days} ({days * 1440 + tail:,} minutes) through "
            f"detect_surges in {replay_s:.0f} s; load average {load_average()}"
        )
        result = {
            "days": days,
            "first_day": args.first_day,
            "seed": args.seed,
            "settings": {k: str(v) for k, v in knobs.items()},
            "load_average": load_average(),
            "mailing": mailing[0].isoformat(),
            "outages": [
                {
                    "id": o.id,
                    "level": o.level,
                    "service": o.service,
                    "where": o.where,
                    "size": o.size,
                    "start": o.start.isoformat(),
                    "delay": (o.detected_at - o.start).total_seconds() / 60 if o.detected_at else None,
                    "detected_level": o.detected_level,
                    "usual_per_15": o.usual_per_15,
                    # When its 3rd, 4th and 5th tickets could first be seen (a detector that ignored
                    # all background could not be faster while never firing on two tickets).
                    "kth": [
                        math.ceil((at - o.start).total_seconds() / 60)
                        for at in sorted(truth_times[o.id])[2:5]
                    ],
                }
                for o in outages
                if first <= o.start < last
            ],
            "false": [
                {"at": at.isoformat(), "cell": p.cell, "level": p.level, "size": n, "expected": e}
                for at, p, n, e in res["false"]
                if at < last
            ],
            "true": len(res["true"]),
            "duplicates": res["duplicates"],
            "merged": res["merged"],
            "run_ms": [round(x, 2) for x in res["run_ms"]],
        }
        if args.json:
            args.json.write_text(json.dumps(result))
        if args.plot_outage is None:
            print_figures([result])
        # --- plot one injected outage -----------------------------------------------------------
        found = [o for o in outages if o.detected_at and first <= o.start < last]
        shown = next((o for o in found if o.level == "postcode" and o.size == 7), None)
        shown = shown or next(iter(found), None)
        if args.plot_outage is not None:
            shown = outages[args.plot_outage] if outages[args.plot_outage].detected_at else None
            print(
                f"outage {args.plot_outage}: "
                + (
                    f"proposed after {(shown.detected_at - shown.start).total_seconds() / 60:.0f} min"
                    if shown
                    else "not detected"
                )
            )
        if shown is not None and (args.plot_outage is not None or (args.first_day == 0 and not args.days)):
            plot = ROOT / "bench" / "surge_outage.svg"
            svg_plot(plot, outage=shown, rows=rows, world=world, baseline_per_15=shown.usual_per_15)
            print(
                f"\nplot of outage {shown.id} ({shown.service} in {shown.where}) written to {plot.relative_to(ROOT)}"
            )
            png = svg_to_png(plot)
            if png:
                print(f"and rendered by Chromium to {png.relative_to(ROOT)}")
        # --- the detector's query at 1,000,000 tickets ------------------------------------------
        if args.fill:
            time_at_fill(args.fill, begin=begin, eval_begin=eval_begin)
    finally:
        from django.db import connections

        connections.close_all()
        if not (args.keep or args.reuse):
            drop_database(url, BENCH_DB)


def time_at_fill(fill: int, *, begin: datetime, eval_begin: datetime) -> None:
    took = fill_to(fill, before=begin)
    from tickets.models import Ticket

    total = Ticket.objects.count()
    moments = [eval_begin + timedelta(days=d, hours=h) for d in (1, 7, 14, 21) for h in (9, 10, 18)]
    ms, naive = time_detector(moments)
    print(
        f"\n{total:,} tickets in the table (filled in {took:.0f} s): one detector run (grow, count, "
        f"baseline) p50 {statistics.median(ms):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, max "
        f"{max(ms):.1f} ms; naive Python over the rows p50 {statistics.median(naive):.0f} ms "
        f"(ratio {statistics.median(naive) / statistics.median(ms):.1f}×); load average {load_average()}"
    )


def database_exists(url: str, name: str) -> bool:
    from benchdb import _admin

    conn = _admin(url)
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        found = cur.fetchone() is not None
    conn.close()
    return found


def reuse_tickets(rows: list[tuple]) -> dict[int, int] | None:
    """The kept database's generated tickets (inserted in ``rows`` order), as ticket id → outage id;
    None if it does not hold this month (then it is generated afresh). Earlier replays are undone."""
    from incidents.models import Incident
    from tickets.models import Ticket

    ids = list(Ticket.objects.exclude(subject="Old").order_by("pk").values_list("pk", flat=True))
    if len(ids) != len(rows):
        return None
    Incident.objects.all().delete()  # the proposals of an earlier replay, with their clusters
    return {pk: row[5] for pk, row in zip(ids, rows, strict=True) if row[5] is not None}


def print_figures(results: list[dict]) -> None:
    """Recall and delay by size, false proposals per day, by level — over one or several replays."""
    outages = [o for r in results for o in r["outages"]]
    false = [f for r in results for f in r["false"]]
    days = sum(r["days"] for r in results)
    run_ms = [x for r in results for x in r["run_ms"]]
    print(f"\n{days} replayed days; load average {' / '.join(r['load_average'] for r in results)}")
    print(
        f"one detector run while replaying: p50 {statistics.median(run_ms):.1f} ms, p95 {percentile(run_ms, 0.95):.1f} ms"
    )
    bins = [(0, 5, "< 5"), (5, 10, "5–9"), (10, 20, "10–19"), (20, 10**6, "≥ 20")]
    print(
        f"\n{'size (tickets/15 min)':<22} {'outages':>7} {'detected':>8} {'recall':>7} {'median delay':>13} {'p90 delay':>10}"
    )
    for lo_, hi_, label in [*bins, (5, 10**6, "all ≥ 5")]:
        group = [o for o in outages if lo_ <= o["size"] < hi_]
        delays = [o["delay"] for o in group if o["delay"] is not None]
        med = f"{statistics.median(delays):.0f} min" if delays else "—"
        p90 = f"{percentile(delays, 0.9):.0f} min" if delays else "—"
        rec = f"{100 * len(delays) / len(group):.0f} %" if group else "—"
        print(f"{label:<22} {len(group):>7} {len(delays):>8} {rec:>7} {med:>13} {p90:>10}")
    for k in (3, 4, 5):
        bound = [o["kth"][k - 3] for o in outages if o["size"] >= 5 and len(o["kth"]) > k - 3]
        print(
            f"  bound: the {k}th ticket of each outage (size ≥ 5) seen after a median {statistics.median(bound):.0f} min "
            f"(p90 {percentile(bound, 0.9):.0f} min; {len(bound)} outages had {k})"
        )
    by_level = defaultdict(lambda: [0, 0, 0])
    for o in outages:
        if o["size"] >= 5:
            by_level[o["level"]][0] += 1
            by_level[o["level"]][1] += o["delay"] is not None
            by_level[o["level"]][2] += o["delay"] is not None and o["detected_level"] == o["level"]
    print("\nby level (size ≥ 5): " + "; ".join(
        f"{lv} {d}/{n} detected, {r} at that level" for lv, (n, d, r) in sorted(by_level.items())
    ))  # fmt: skip
    n_true, n_false = sum(r["true"] for r in results), len(false)
    print(
        f"\nproposals: {n_true + n_false} — {n_true} true ({sum(r['duplicates'] for r in results)} of them a "
        f"second proposal for an outage already proposed), {n_false} false; precision "
        f"{100 * n_true / max(1, n_true + n_false):.0f} %; false proposals per day {n_false / days:.2f}; "
        f"merged into a wider proposal: {sum(r['merged'] for r in results)}"
    )
    mailing = datetime.fromisoformat(results[0]["mailing"])
    mail_lo, mail_hi = mailing, mailing + timedelta(hours=3, minutes=15)
    at = [datetime.fromisoformat(f["at"]) for f in false]
    print(
        f"false proposals during the mailing: {sum(mail_lo <= a <= mail_hi for a in at)}; "
        f"on Monday mornings: {sum(a.weekday() == 0 and 7 <= a.hour < 11 for a in at)}"
    )
    for f in false:
        print(
            f"  false: {f['at'][:16]} {f['cell']} ({f['level']}) {f['size']} tickets, usually {f['expected']:.2f}"
        )
    print("\noutages (size ≥ 5), slowest first:")
    for o in sorted((o for o in outages if o["size"] >= 5), key=lambda o: -(o["delay"] or 1e9)):
        delay = f"{o['delay']:.0f} min" if o["delay"] is not None else "missed"
        print(
            f"  #{o['id']:<3} {o['size']:>2}/15 min {o['service']:<10} {o['level']:<12} {o['where']:<16} "
            f"{delay:>7} {o['detected_level'] or ''} usual {o['usual_per_15']:.2f}/15 min"
        )


if __name__ == "__main__":
    main()
