"""Benchmark a bulk action on 1,000 ticked tickets (issue 14), against a per-ticket loop in the same run.

(a) ``tickets_bulk_assign`` (take them all) then ``tickets_bulk_set_status`` (resolve them all) on
    ``--tickets`` open tickets: one lock-and-read, one UPDATE and one INSERT of timeline entries each.
(b) The same through the one-ticket services an agent's clicks use (``ticket_assign`` then
    ``ticket_set_status`` per ticket), on other tickets of the same table.
Repeated ``--runs`` times on fresh tickets; the medians and their ratio are printed with the load.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_bulk.py
      [--tickets 1000] [--background 100000] [--runs 3]
The database is ``supportdesk_bench_bulk`` (dropped and re-created, dropped again afterwards).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from benchdb import drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "supportdesk_bench_bulk"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tickets", type=int, default=1000, help="tickets ticked per bulk action")
    p.add_argument("--background", type=int, default=100_000, help="other tickets in the table")
    p.add_argument("--runs", type=int, default=3)
    return p.parse_args()


def load(total: int) -> None:
    from django.db import connection

    from customers.models import Area, Service

    service = Service.objects.create(code="broadband", name="Broadband")
    area = Area.objects.create(code="se", name="Sweden", kind="country")
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO customers_customer (number, name, email, language, preferred_channel, created_at)
            SELECT (1000000 + i)::text, 'Customer ' || i, 'c' || i || '@example.com', 'sv', 'email', now()
            FROM generate_series(1, 20000) AS i
            """
        )
        cur.execute("SELECT min(id) FROM customers_customer")
        c0 = cur.fetchone()[0]
        cur.execute(
            """
            INSERT INTO tickets_ticket (customer_id, channel, category, service_id, service_source, area_id,
                subject, description, status, priority, queue, created_at, updated_at, sla_breached,
                keep_open, needs_attention)
            SELECT %s + i %% 20000, 'web', 'technical', %s, 'given', %s, 'Ticket ' || i, 'Slow', 'new', 2,
                   'first-line', now() - interval '1 hour', now() - interval '1 hour', false, false, false
            FROM generate_series(1, %s) AS i
            """,
            [c0, service.pk, area.pk, total],
        )
        cur.execute("ANALYZE")


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the bench creates its own database there).")
    os.environ["DATABASE_URL"] = recreate_database(url, BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from core import roles
    from tickets import services
    from tickets.models import Ticket, TicketEvent

    try:
        call_command("migrate", verbosity=0)
        needed = 2 * args.runs * args.tickets
        load(args.background + needed)
        agent = User.objects.create_user("bench-agent")
        agent.groups.add(Group.objects.get_or_create(name=roles.AGENT)[0])
        ids = list(Ticket.objects.order_by("pk").values_list("pk", flat=True)[:needed])
        print(f"{len(ids) + args.background:,} tickets; load average {os.getloadavg()[0]:.2f}")
        bulk, loop = [], []
        for run in range(args.runs):
            chunk = ids[2 * run * args.tickets : (2 * run + 1) * args.tickets]
            t0 = time.perf_counter()
            assert services.tickets_bulk_assign(ticket_ids=chunk, assignee=agent, actor=agent) == len(chunk)
            assert services.tickets_bulk_set_status(ticket_ids=chunk, status="resolved", actor=agent) == len(
                chunk
            )
            bulk.append(time.perf_counter() - t0)

            others = list(
                Ticket.objects.filter(pk__in=ids[(2 * run + 1) * args.tickets : (2 * run + 2) * args.tickets])
            )
            t0 = time.perf_counter()
            for ticket in others:
                services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
                services.ticket_set_status(ticket=ticket, status="resolved", actor=agent)
            loop.append(time.perf_counter() - t0)
            print(f"  run {run + 1}: bulk {bulk[-1]:.3f} s, per-ticket loop {loop[-1]:.2f} s")
        # Both ways leave the same trace: an assignment, "new → open" and "open → resolved" per ticket.
        entries = TicketEvent.objects.filter(ticket_id__in=ids).values("kind").order_by().count()
        assert entries == 3 * len(ids), entries
        b, lo = statistics.median(bulk), statistics.median(loop)
        print(
            f"take + resolve {args.tickets:,} tickets: bulk median {b * 1000:.0f} ms, per-ticket loop median "
            f"{lo:.2f} s → bulk is {lo / b:.0f}× faster; load average {os.getloadavg()[0]:.2f}"
        )
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url, BENCH_DB)


if __name__ == "__main__":
    main()
