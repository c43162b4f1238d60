"""Search with 1,000,000 tickets in the table (issue 11: p95 ≤ 150 ms server time), against a naive
``icontains`` search of the same queries in the same run.

Loads the scale data with ``supportdesk.seeding.load_scale_data`` (COPY) into its own database and
adds agents' notes to a third of the tickets (the loader writes no comments): each names a
serial number, so a search for one finds a single row among 333,000. Then it renders the real
``tickets:search`` view through Django's test client as a logged-in agent — middleware, session,
role check, the queries and the template — for a mix of queries: a ticket reference, a customer
number, a phone in local and caller-ID form, an e-mail, a full name, a name prefix, common and
rarer subject words in sv/fi/en, a description phrase, a serial number from a note, and a word that
is nowhere. The baseline is what a straightforward search does: ``icontains`` on customer name,
subject, description and comment body (sequential scans), timed on the same words.

Run:  BENCH_DB=sd_mybench DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
      .venv/bin/python bench/bench_search.py [--customers 1000000] [--requests 100] [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from benchdb import database_url, drop_database, percentile, recreate_database, time_get

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Own database per engineer when several run benches on one server (BENCH_DB=...).
BENCH_DB = os.environ.get("BENCH_DB", "supportdesk_bench_search")
NOTE_SHARE = 3  # one ticket in NOTE_SHARE gets a note


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=1_000_000, help="customers (about one ticket each)")
    p.add_argument("--requests", type=int, default=100, help="timed requests per query")
    p.add_argument("--naive", type=int, default=3, help="timed naive searches per query (median)")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    p.add_argument("--reuse", action="store_true", help="reuse a kept bench database (skip the load)")
    return p.parse_args()


def add_notes() -> int:
    """Agents' notes on every NOTE_SHARE-th ticket, with a serial number each (set-based SQL: bench
    data, like the COPY loader; the app writes notes through tickets.services)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("DELETE FROM tickets_ticketevent WHERE kind = 'note' AND body LIKE 'Bench:%%'")
        cur.execute(
            """
            INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, public, body, data, created_at)
            SELECT id, 'note', NULL, false,
                   'Bench: swapped the modem, serial SN' || lpad(((id * 7919) %% 100000000)::text, 8, '0')
                   || CASE id %% 3 WHEN 0 THEN '. Kunden nöjd.' WHEN 1 THEN '. Asiakas tyytyväinen.'
                      ELSE '. Customer happy.' END,
                   '{}'::jsonb, created_at + interval '1 hour'
            FROM tickets_ticket WHERE id %% %s = 0
            """,
            [NOTE_SHARE],
        )
        added = cur.rowcount
        cur.execute("ANALYZE tickets_ticketevent")
    return added


def naive_search(q: str) -> float:
    """A straightforward search's work for ``q``, in ms: icontains everywhere, newest first."""
    from django.db.models import Q

    from customers.models import Customer
    from tickets.models import Ticket, TicketEvent

    t0 = time.perf_counter()
    list(Customer.objects.filter(Q(name__icontains=q) | Q(number=q) | Q(email__iexact=q))[:20])
    list(Ticket.objects.filter(Q(subject__icontains=q) | Q(description__icontains=q)).order_by("-pk")[:20])
    list(TicketEvent.objects.filter(body__icontains=q).order_by("-pk")[:20])
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
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

    from customers.models import Customer
    from supportdesk.seeding import ensure_catalogue, load_scale_data
    from tickets.models import Ticket, TicketEvent

    settings.ALLOWED_HOSTS = ["*"]
    try:
        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)  # on --reuse: builds indexes added since the load
        print(f"migrated in {time.perf_counter() - t0:.1f} s")
        if not args.reuse:
            ensure_catalogue()
            t0 = time.perf_counter()
            load_scale_data(customers=args.customers)
            print(f"loaded {args.customers:,} customers in {time.perf_counter() - t0:.1f} s")
        if not TicketEvent.objects.filter(kind="note", body__startswith="Bench:").exists():
            t0 = time.perf_counter()
            print(f"added {add_notes():,} notes in {time.perf_counter() - t0:.1f} s")
        print(
            f"{Ticket.objects.count():,} tickets, {Customer.objects.count():,} customers, "
            f"{TicketEvent.objects.filter(kind='note').count():,} notes"
        )

        agent, _ = User.objects.get_or_create(username="bench-agent")
        agent.groups.add(Group.objects.get(name="agent"))
        client = Client()
        client.force_login(agent)

        ticket = Ticket.objects.order_by("-pk")[Ticket.objects.count() // 2]
        customer = Customer.objects.order_by("pk")[Customer.objects.count() // 3]
        phone = customer.phones.first().number  # +46…/+358…
        local = "0" + phone[3:] if phone.startswith("+46") else "0" + phone[4:]
        serial_id = (
            Ticket.objects.filter(pk__gt=ticket.pk // NOTE_SHARE * NOTE_SHARE).order_by("pk").first().pk
            // NOTE_SHARE
        ) * NOTE_SHARE
        serial = f"SN{(serial_id * 7919) % 100_000_000:08d}"
        queries = {
            "reference": ticket.reference,
            "customer number": customer.number,
            "phone, local": local,
            "phone, caller-ID": phone.lstrip("+"),
            "e-mail": customer.email,
            "full name": customer.name,
            "name prefix": customer.name.split()[-1][:5].lower(),
            "sv words": "routern uppkopplingen",
            "fi word": "sähköposti",
            "en words": "dsl modem",
            "description": "värst på kvällarna",
            "note serial": serial.lower(),
            "nowhere": "qqxyzzy",
        }
        print(
            f"{'query':<18} {'q':<26} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'naive ms':>10} {'ratio':>7}"
        )
        all_times: list[float] = []
        for name, q in queries.items():
            times, n_queries, status = time_get(
                client, "/desk/search/", args.requests, {"q": q}, ok=(200, 302)
            )
            all_times += times
            naive = statistics.median(naive_search(q) for _ in range(args.naive))
            p50, p95 = statistics.median(times), percentile(times, 0.95)
            note = " →302" if status == 302 else ""
            print(
                f"{name:<18} {q[:26]:<26} {p50:>8.1f} {p95:>8.1f} {n_queries:>8} {naive:>10.1f} "
                f"{naive / p50:>6.1f}×{note}"
            )
        print(
            f"all queries: p50 {statistics.median(all_times):.1f} ms, p95 {percentile(all_times, 0.95):.1f} ms"
        )
        print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(url, BENCH_DB)


if __name__ == "__main__":
    main()
