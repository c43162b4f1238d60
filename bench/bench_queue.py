"""First-line queue page with 1,000,000 tickets in the table (DESIGN.md: p95 ≤ 100 ms server time,
query count independent of page size and position).

Loads the scale data with ``supportdesk.seeding.load_scale_data`` (COPY) into its own database, then
renders the real ``tickets:queue`` view through Django's test client — the whole server side:
middleware, session, roles, the queries and the template — for the first page and for pages deep in
the queue (keyset ``?before=``). The naive baseline is what a straightforward Django list view does:
``Paginator`` (COUNT(*) + OFFSET) and no ``select_related`` (one query per row for customer, service,
area, assignee and the incident flag), timed on the same pages.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk .venv/bin/python bench/bench_queue.py
      [--customers 1000000] [--requests 200] [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from benchdb import database_url, drop_database, percentile, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Own database per engineer when several run benches on one server (BENCH_DB=...).
BENCH_DB = os.environ.get("BENCH_DB", "supportdesk_bench_queue")
# The default order (SLA due soonest first) with filters an agent uses: one status, unassigned.
FILTER = "status=new&unassigned=1"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=1_000_000, help="customers (about one ticket each)")
    p.add_argument("--requests", type=int, default=200, help="timed requests per page position")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    p.add_argument("--reuse", action="store_true", help="reuse a kept bench database (skip the load)")
    p.add_argument(
        "--profile", action="store_true", help="also split page 1's server time: SQL, template, the rest"
    )
    return p.parse_args()


def time_requests(client, url: str, n: int) -> tuple[list[float], int, float]:
    """benchdb.time_get, plus this process's CPU time per request (median)."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches and plans
    times, cpu = [], []
    reset_queries()  # each request clears the log at its start; begin the capture from empty
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert response.status_code == 200
    # CPU time of this process (Python: middleware, view, template; not PostgreSQL's): the figure
    # least distorted by a loaded machine.
    return times, len(queries.captured_queries), statistics.median(cpu)


def split_time(client, url: str, n: int) -> None:
    """Where one request's time goes: SQL (the queries' own timings), template rendering (the
    ``render`` of every Django template, nested ones counted once), and the rest (middleware,
    session, view code); then cProfile's top functions by own time."""
    import cProfile
    import pstats

    from django.db import connection
    from django.template.backends.django import Template
    from django.test.utils import CaptureQueriesContext

    spent = {"template": 0.0}
    depth = [0]
    original = Template.render

    def timed_render(self, *args, **kwargs):
        depth[0] += 1
        t0 = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                spent["template"] += time.perf_counter() - t0

    Template.render = timed_render
    try:
        client.get(url)
        total = sql = 0.0
        spent["template"] = 0.0
        for _ in range(n):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                client.get(url)
                total += time.perf_counter() - t0
            sql += sum(float(q["time"]) for q in queries.captured_queries)
    finally:
        Template.render = original
    # SQL run inside template rendering (lazy querysets) is counted in both; say so by subtracting.
    template = spent["template"]
    print(
        f"split over {n} requests, per request: total {total / n * 1000:.1f} ms, SQL {sql / n * 1000:.1f} ms, "
        f"template rendering {template / n * 1000:.1f} ms (may include SQL of lazy querysets), "
        f"rest {max(0.0, total - template - sql) / n * 1000:.1f} ms"
    )
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(n):
        client.get(url)
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(15)


# The rows template as it was before tickets/queue_rows.py (per row: two {% url %}, timesince /
# timeuntil, date filters in titles, blocktranslate): the same-run baseline for the rows' rendering.
TEMPLATE_ROWS_BEFORE = (Path(__file__).resolve().parent / "queue_rows_before.html").read_text()


def compare_rows(n: int) -> None:
    """Render one page's 50 rows both ways, ``n`` times each, in CPU time (``process_time``: less
    sensitive to the machine's load than wall time): the old per-row template against
    ``queue_rows`` (the texts, once per page) plus ``rows_html`` (the markup, one format per row)."""
    from django.template import engines
    from django.template.loader import get_template
    from django.utils import timezone, translation

    from tickets import selectors
    from tickets.queue_rows import queue_rows, rows_html

    engine = engines["django"]
    before = engine.from_string(TEMPLATE_ROWS_BEFORE)
    after = get_template("tickets/_ticket_rows.html")
    filters_form = get_template("tickets/_queue_filters.html")
    tickets, _ = selectors.queue_page(
        queue="first-line", filters=selectors.QueueFilters(status="new", unassigned=True)
    )
    base = {"handover_column": False}
    choices = {"filter_choices": selectors.queue_filter_choices(), "filters": selectors.QueueFilters()}

    def timed(work) -> float:
        work()  # warm
        samples = []
        for _ in range(n):
            t0 = time.process_time()
            work()
            samples.append((time.process_time() - t0) * 1000)
        return statistics.median(samples)

    with translation.override("en"), timezone.override("Europe/Stockholm"):
        now = timezone.now()
        old = timed(lambda: before.render({**base, "tickets": tickets, "now": now}))
        new = timed(
            lambda: after.render(
                {**base, "rows_html": rows_html(queue_rows(tickets, now=now), handover_column=False)}
            )
        )
        form = timed(lambda: filters_form.render(choices))
    print(
        f"{len(tickets)} rows, CPU ms (median of {n}): per-row template {old:.1f}, "
        f"queue_rows + rows_html {new:.1f} ({old / new:.1f}× less); the filter form {form:.1f}"
    )


def naive_page(page_number: int) -> float:
    """A straightforward list view's work for one page, in ms (no template: it only flatters us)."""
    from django.core.paginator import Paginator

    from tickets.models import Ticket

    t0 = time.perf_counter()
    qs = Ticket.objects.filter(status="new", assignee__isnull=True, queue="first-line").order_by(
        "sla_due_at", "pk"
    )
    page = Paginator(qs, 50).page(page_number)
    for t in page.object_list:
        _ = (t.customer.name, t.service and t.service.name, t.area and t.area.name, t.assignee)
        _ = t.incident_links.filter(detached_at__isnull=True).exists()
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
    from django.test import Client

    from supportdesk.seeding import ensure_catalogue, load_scale_data
    from tickets.models import Ticket

    settings.ALLOWED_HOSTS = ["*"]
    try:
        call_command("migrate", verbosity=0)  # on --reuse: builds indexes added since the load
        if not args.reuse:
            ensure_catalogue()
            t0 = time.perf_counter()
            load_scale_data(customers=args.customers)
            print(f"loaded {args.customers:,} customers in {time.perf_counter() - t0:.1f} s")
        total = Ticket.objects.count()
        open_first_line = Ticket.objects.open().filter(queue="first-line").count()
        print(f"{total:,} tickets in the table, {open_first_line:,} open in first line")

        agent, _ = User.objects.get_or_create(username="bench-agent")
        agent.groups.add(Group.objects.get(name="agent"))
        client = Client()
        client.force_login(agent)

        from tickets.selectors import QUEUE_ORDERS, encode_cursor

        # Every 50th row of the filtered queue in the page's order: row p*50-1 ends page p.
        keys = list(
            Ticket.objects.open()
            .filter(queue="first-line", status="new", assignee__isnull=True)
            .alias(k=QUEUE_ORDERS["sla"])
            .order_by("k", "pk")
            .annotate(key=QUEUE_ORDERS["sla"])
            .values_list("key", "pk")[49::50][:2000]
        )
        pages = sorted({1, min(100, len(keys)), len(keys)})
        positions = {f"page {p:,}": (encode_cursor(*keys[p - 2]) if p > 1 else None, p) for p in pages}
        if args.profile:
            split_time(client, f"/desk/queue/?queue=first-line&{FILTER}", 20)
        compare_rows(50)
        print(
            f"{'position':<12} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>8} {'queries':>8} {'naive ms':>10} {'ratio':>7}"
        )
        for name, (before, page_number) in positions.items():
            path = f"/desk/queue/?queue=first-line&{FILTER}" + (f"&after={before}" if before else "")
            times, queries, cpu = time_requests(client, path, args.requests)
            naive = statistics.median(naive_page(page_number) for _ in range(5))
            p50, p95 = statistics.median(times), percentile(times, 0.95)
            print(
                f"{name:<12} {p50:>8.1f} {p95:>8.1f} {cpu:>8.1f} {queries:>8} {naive:>10.1f} {naive / p50:>6.1f}×"
            )
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(url, BENCH_DB)


if __name__ == "__main__":
    main()
