"""Benchmark resolving an incident with 10,000 linked open tickets (DESIGN.md: reply + resolve each
in ≤ 3 s), against a per-ticket loop in the same run (see bench/README.md, "Resolve").

(a) ``incident_resolve`` of an incident linked (by a real declaration) to ``--tickets`` open tickets
    of customers in three languages, with Celery eager: the call returns after its transaction
    committed *and* the close-the-loop task ran (on commit, in-process), so the time is "resolve
    clicked → every ticket replied to in its customer's language and resolved (or kept open and
    flagged)". 1 % of the tickets are marked keep open, 1 % have a customer message newer than the
    link, 10 % have an assignee (so the kept-open alerts are written too). Repeated ``--runs`` times,
    each on its own incident and tickets.
(b) The naive loop: ``ticket_comment`` (public reply) + ``ticket_set_status`` (resolved) per ticket,
    each service call its own transaction, on ``--loop-sample`` tickets of another incident, scaled
    up to ``--tickets``.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_resolve.py
      [--tickets 10000] [--background 200000] [--runs 3] [--loop-sample 500] [--keep]
The server in DATABASE_URL is used; the database is ``supportdesk_bench_resolve`` (dropped and
re-created, and dropped again afterwards unless --keep).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchdb import drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("BENCH_DB", "supportdesk_bench_resolve")
MESSAGE = {
    "sv": "Felet är åtgärdat. Vi ber om ursäkt för besväret.",
    "fi": "Vika on korjattu. Pahoittelemme haittaa.",
    "en": "The fault is fixed. We are sorry for the trouble.",
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tickets", type=int, default=10_000, help="linked open tickets per resolved incident")
    p.add_argument("--background", type=int, default=200_000, help="other tickets in the table")
    p.add_argument("--runs", type=int, default=3, help="incidents resolved (each with its own tickets)")
    p.add_argument("--loop-sample", type=int, default=500, help="tickets the naive loop handles")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    p.add_argument(
        "--without-event-fk",
        action="store_true",
        help="experiment: drop the timeline's FK constraint to tickets (checked per row at commit)",
    )
    return p.parse_args()


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()[0]:.2f}"


def load(args) -> dict:
    """Customers and tickets by INSERT…SELECT generate_series; one service per incident, so each
    declaration links exactly its own ``--tickets`` (the loop's incident its ``--loop-sample``)."""
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from core import roles
    from customers.models import Area, Service

    codes = [f"email-{n}" for n in range(args.runs)] + ["loop", "other"]
    services = {s.code: s for s in Service.objects.bulk_create([Service(code=c, name=c) for c in codes])}
    area = Area.objects.create(code="se", name="Sweden", kind="country")
    ops = User.objects.create_user("bench-ops")
    ops.groups.add(Group.objects.get_or_create(name=roles.OPS)[0])
    agents = []
    for n in range(20):
        agent = User.objects.create_user(f"bench-agent-{n}")
        agent.groups.add(Group.objects.get_or_create(name=roles.AGENT)[0])
        agents.append(agent.pk)
    n_customers = 30_000
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO customers_customer (number, name, email, language, preferred_channel, created_at)
            SELECT (1000000 + i)::text, 'Customer ' || i, 'c' || i || '@example.com',
                   (ARRAY['sv', 'fi', 'en'])[1 + i %% 3], 'email', now()
            FROM generate_series(1, %s) AS i
            """,
            [n_customers],
        )
        cur.execute("SELECT min(id) FROM customers_customer")
        c0 = cur.fetchone()[0]

        def tickets(service_id: int, count: int, status: str, offset: int) -> None:
            cur.execute(
                """
                INSERT INTO tickets_ticket (customer_id, channel, category, service_id, service_source,
                    area_id, subject, description, status, priority, queue, created_at, updated_at,
                    sla_breached, resolved_at, keep_open, needs_attention, assignee_id)
                SELECT %(c0)s + ((%(offset)s + i) %% %(nc)s), 'web', 'technical', %(service)s, 'given', %(area)s,
                       'Ticket ' || i, 'No e-mail since this morning.', %(status)s, 2, 'first-line',
                       now() - interval '1 hour', now() - interval '1 hour', false,
                       CASE WHEN %(status)s IN ('resolved', 'closed') THEN now() END,
                       i %% 100 = 7, false,
                       CASE WHEN i %% 10 = 3 THEN (%(agents)s::int[])[1 + i %% 20] END
                FROM generate_series(1, %(count)s) AS i
                """,
                {
                    "c0": c0,
                    "nc": n_customers,
                    "offset": offset,
                    "service": service_id,
                    "area": area.pk,
                    "status": status,
                    "count": count,
                    "agents": agents,
                },
            )

        for n in range(args.runs):
            tickets(services[f"email-{n}"].pk, args.tickets, "open", n * args.tickets)
        tickets(services["loop"].pk, args.loop_sample, "open", 0)
        tickets(services["other"].pk, args.background // 2, "open", 0)
        tickets(services["other"].pk, args.background - args.background // 2, "closed", 0)
        cur.execute("ANALYZE")
    print(
        f"loaded {n_customers:,} customers and "
        f"{args.runs * args.tickets + args.loop_sample + args.background:,} tickets "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return {"services": services, "area": area, "ops": ops}


def declare(service, ops, title: str, expected: int):
    """A real declaration links the tickets; then 1 % of them get a customer message after the link."""
    from django.db import connection

    from incidents.services import incident_declare

    result = incident_declare(
        title=title,
        kind="outage",
        severity=3,
        services=[service],
        areas=[],
        equipment=[],
        public_message=MESSAGE,
        actor=ops,
    )
    assert result.linked_count == expected, (result.linked_count, expected)
    with connection.cursor() as cur:  # test data, written directly: "the customer wrote after the link"
        cur.execute(
            """
            INSERT INTO tickets_ticketevent (ticket_id, kind, public, body, data, created_at)
            SELECT ticket_id, 'customer-message', true, 'Still nothing here', '{}', now() + interval '1 second'
            FROM incidents_incidentticketlink WHERE incident_id = %s AND ticket_id %% 100 = 11
            """,
            [result.incident.pk],
        )
        cur.execute("ANALYZE")
    return result.incident


def bench_resolve(args, data: dict) -> float:
    from incidents.models import IncidentTicketLink
    from incidents.services import incident_resolve
    from tickets.models import Ticket, TicketEvent

    incidents = [
        declare(data["services"][f"email-{n}"], data["ops"], f"Mail platform down {n}", args.tickets)
        for n in range(args.runs)
    ]
    print(f"    {uptime()}")
    timings = []
    for incident in incidents:
        t0 = time.perf_counter()
        if os.environ.get("BENCH_PROFILE"):  # each SQL statement's time, slowest first
            from django.db import connection

            spent: list[tuple[float, str]] = []

            def timer(execute, sql, params, many, context, spent=spent):
                t = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    spent.append((time.perf_counter() - t, " ".join(sql.split())[:150]))

            with connection.execute_wrapper(timer):
                incident_resolve(incident=incident, actor=data["ops"], message=MESSAGE)
            by_kind: dict[str, list[float]] = {}
            for took, sql in spent:
                by_kind.setdefault(sql[:60], []).append(took)
            for head, times in sorted(by_kind.items(), key=lambda kv: -sum(kv[1]))[:10]:
                print(f"      {sum(times) * 1000:7.0f} ms in {len(times):3d}×  {head}")
        else:
            incident_resolve(incident=incident, actor=data["ops"], message=MESSAGE)
        timings.append(time.perf_counter() - t0)
        links = IncidentTicketLink.objects.filter(incident=incident)
        replied = links.filter(resolution_replied_at__isnull=False).count()
        replies = TicketEvent.objects.filter(kind="reply", data__incident=incident.pk, data__resolution=True)
        resolved = Ticket.objects.filter(
            status="resolved", incident_links__incident=incident, incident_links__detached_at__isnull=True
        ).count()
        kept = Ticket.objects.filter(needs_attention=True, incident_links__incident=incident).count()
        assert replied == replies.count() == args.tickets, (replied, replies.count())
        assert resolved + kept == args.tickets, (resolved, kept)
    median = statistics.median(timings)
    print(
        f"(a) incident_resolve + close the loop, {args.tickets:,} linked open tickets: "
        + ", ".join(f"{t:.2f} s" for t in timings)
        + f" (median {median:.2f} s; {resolved:,} resolved and {kept:,} kept open and flagged in the last run; "
        + f"target ≤ 3 s: {'met' if median <= 3 else 'NOT met'})"
    )
    return median


def bench_loop(args, data: dict, set_based_s: float) -> None:
    from django.db import transaction

    from core.i18n import text_in
    from incidents.models import IncidentTicketLink
    from tickets.models import Ticket
    from tickets.services import ticket_comment, ticket_set_status

    incident = declare(data["services"]["loop"], data["ops"], "Loop", args.loop_sample)
    ids = IncidentTicketLink.objects.filter(incident=incident).values_list("ticket_id", flat=True)
    tickets = list(Ticket.objects.filter(pk__in=list(ids)).select_related("customer").order_by("pk"))
    print(f"    {uptime()}")
    t0 = time.perf_counter()
    for ticket in tickets:
        # What a per-ticket loop does: each service call in its own transaction.
        with transaction.atomic():
            ticket_comment(
                ticket=ticket,
                actor=data["ops"],
                body=text_in(MESSAGE, ticket.customer.language),
                public=True,
            )
        ticket_set_status(ticket=ticket, status=Ticket.Status.RESOLVED, actor=data["ops"])
    sample_s = time.perf_counter() - t0
    scaled = sample_s * args.tickets / len(tickets)
    print(
        f"(b) per-ticket loop (ticket_comment + ticket_set_status): {len(tickets):,} tickets in "
        f"{sample_s:.2f} s ({sample_s / len(tickets) * 1000:.1f} ms/ticket) → {scaled:.1f} s for "
        f"{args.tickets:,} (extrapolated); set-based is {scaled / set_based_s:.0f}× faster"
    )


def drop_event_fk() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT conname FROM pg_constraint
            WHERE conrelid = 'tickets_ticketevent'::regclass AND contype = 'f'
              AND conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                  WHERE attrelid = 'tickets_ticketevent'::regclass AND attname = 'ticket_id')]
            """
        )
        for (name,) in cur.fetchall():
            cur.execute(f'ALTER TABLE tickets_ticketevent DROP CONSTRAINT "{name}"')
            print(f"experiment: dropped {name}")


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the bench creates its own database there).")
    os.environ["DATABASE_URL"] = recreate_database(url, BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The loop's replies are e-mailed (eager Celery): keep the messages in memory, not on stdout.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    import django

    django.setup()
    from django.core.management import call_command

    from supportdesk.celery import app

    # The close-the-loop task and the alerts' pushes run in-process on commit: no broker, no worker,
    # so the time is the work itself (a worker adds its pick-up latency, tens of ms).
    app.conf.task_always_eager = True
    try:
        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"bench database {BENCH_DB} migrated in {time.perf_counter() - t0:.1f} s")
        if args.without_event_fk:
            drop_event_fk()
        data = load(args)
        set_based_s = bench_resolve(args, data)
        bench_loop(args, data, set_based_s)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(url, BENCH_DB)


if __name__ == "__main__":
    main()
