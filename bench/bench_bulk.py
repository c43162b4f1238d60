"""Benchmark a bulk action on 1,000 ticked tickets (issue 14), against a per-ticket loop in the same run.

(a) ``tickets_bulk_assign`` (take them all) then ``tickets_bulk_set_status`` (resolve them all) on
    ``--tickets`` open tickets: one lock-and-read, one UPDATE and one INSERT of timeline entries each.
(b) The same through the one-ticket services an agent's clicks use (``ticket_assign`` then
    ``ticket_set_status`` per ticket), on other tickets of the same table.
"link": ``incident_link_tickets`` (the bulk bar's "link to an incident") against
    ``incident_link_ticket`` per ticket (the ticket page's link), to an active outage.
"reply": ``tickets_bulk_reply`` (the bulk bar's canned reply, each customer's e-mail queued) against
    what an agent does per ticket: the macro filled in the reply box (``macros.render``) and sent
    (``ticket_comment``, which queues the e-mail).
Repeated ``--runs`` times on fresh tickets; the medians and their ratio are printed with the load.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_bulk.py
      [--tickets 1000] [--background 100000] [--runs 3] [--actions status,link,reply]
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
    p.add_argument("--actions", default="status,link,reply", help="which to measure, comma-separated")
    args = p.parse_args()
    args.actions = [a for a in args.actions.split(",") if a]
    if set(args.actions) - set(ACTIONS):
        p.error(f"--actions: pick from {', '.join(ACTIONS)}")
    return args


ACTIONS = ("status", "link", "reply")
MACRO = {
    "sv": "Hej {customer_name}! Felet ({incident_title}) väntas vara åtgärdat {incident_eta}. "
    "/{agent_name}, {reference}",
    "en": "Hello {customer_name}, the fault ({incident_title}) should be fixed {incident_eta}.",
}


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


def halves(args, ids: list[int], run: int) -> tuple[list[int], list[int]]:
    """This run's tickets for the bulk way and, as many others, for the per-ticket loop."""
    n = args.tickets
    return ids[2 * run * n : (2 * run + 1) * n], ids[(2 * run + 1) * n : (2 * run + 2) * n]


def measure_status(args, agent, ids):
    from tickets import services
    from tickets.models import Ticket, TicketEvent

    bulk, loop = [], []
    for run in range(args.runs):
        chunk, other_ids = halves(args, ids, run)
        t0 = time.perf_counter()
        assert services.tickets_bulk_assign(ticket_ids=chunk, assignee=agent, actor=agent) == len(chunk)
        assert services.tickets_bulk_set_status(ticket_ids=chunk, status="resolved", actor=agent) == len(
            chunk
        )
        bulk.append(time.perf_counter() - t0)

        others = list(Ticket.objects.filter(pk__in=other_ids))
        t0 = time.perf_counter()
        for ticket in others:
            services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
            services.ticket_set_status(ticket=ticket, status="resolved", actor=agent)
        loop.append(time.perf_counter() - t0)
        print(f"  take + resolve, run {run + 1}: bulk {bulk[-1]:.3f} s, per-ticket loop {loop[-1]:.2f} s")
    # Both ways leave the same trace: an assignment, "new → open" and "open → resolved" per ticket.
    entries = TicketEvent.objects.filter(ticket_id__in=ids).values("kind").order_by().count()
    assert entries == 3 * len(ids), entries
    return bulk, loop


def _outage(agent):
    from datetime import timedelta

    from django.utils import timezone

    from customers.models import Service
    from incidents.services import incident_declare

    # A keyword nobody wrote: the declaration links nothing by itself, the agents do.
    return incident_declare(
        title="Fibre cut in Solna",
        kind="outage",
        severity=3,
        services=[Service.objects.get(code="broadband")],
        areas=[],
        equipment=[],
        keywords=["zzz-bench"],
        public_message={"en": "Fibre is down."},
        eta=timezone.now() + timedelta(hours=3),
        actor=agent,
    ).incident


def measure_link(args, agent, ids):
    from incidents.models import IncidentTicketLink
    from incidents.services import incident_link_ticket, incident_link_tickets
    from tickets.models import Ticket, TicketEvent

    incident = _outage(agent)
    bulk, loop = [], []
    for run in range(args.runs):
        chunk, other_ids = halves(args, ids, run)
        t0 = time.perf_counter()
        assert len(incident_link_tickets(incident=incident, ticket_ids=chunk, actor=agent)) == len(chunk)
        bulk.append(time.perf_counter() - t0)

        others = list(Ticket.objects.filter(pk__in=other_ids))
        t0 = time.perf_counter()
        for ticket in others:
            incident_link_ticket(incident=incident, ticket=ticket, actor=agent)
        loop.append(time.perf_counter() - t0)
        print(f"  link, run {run + 1}: bulk {bulk[-1]:.3f} s, per-ticket loop {loop[-1]:.2f} s")
    # Both ways leave the same trace: a person's link and an "incident-linked" entry per ticket.
    assert IncidentTicketLink.objects.filter(incident=incident, origin="agent").count() == len(ids)
    assert TicketEvent.objects.filter(ticket_id__in=ids, kind="incident-linked").count() == len(ids)
    return bulk, loop


def measure_reply(args, agent, ids):
    from incidents.services import incident_link_tickets
    from notifications.models import Notification
    from tickets import macros, services
    from tickets.models import Macro, Ticket, TicketEvent

    incident = _outage(agent)
    for start in range(0, len(ids), 1000):  # {incident_eta} and {incident_title} say something
        incident_link_tickets(incident=incident, ticket_ids=ids[start : start + 1000], actor=agent)
    macro = Macro.objects.create(name="Outage known", texts=MACRO)
    bulk, loop = [], []
    for run in range(args.runs):
        chunk, other_ids = halves(args, ids, run)
        t0 = time.perf_counter()
        assert services.tickets_bulk_reply(ticket_ids=chunk, macro=macro, actor=agent) == len(chunk)
        bulk.append(time.perf_counter() - t0)

        others = list(Ticket.objects.filter(pk__in=other_ids).select_related("customer"))
        t0 = time.perf_counter()
        for ticket in others:
            text = macros.render(macro, ticket, agent=agent)
            services.ticket_comment(ticket=ticket, actor=agent, body=text, public=True)
        loop.append(time.perf_counter() - t0)
        print(f"  canned reply, run {run + 1}: bulk {bulk[-1]:.3f} s, per-ticket loop {loop[-1]:.2f} s")
    # Both ways leave the same trace: a public reply, "new → open" and one queued e-mail per ticket.
    replies = TicketEvent.objects.filter(ticket_id__in=ids, kind="reply", public=True)
    assert replies.count() == len(ids) and not replies.filter(body__contains="{").exists()
    assert TicketEvent.objects.filter(ticket_id__in=ids, kind="status", data__to="open").count() == len(ids)
    mails = Notification.objects.filter(ticket_id__in=ids, kind=Notification.Kind.TICKET_REPLY)
    assert mails.count() == len(ids)
    return bulk, loop


MEASURE = {"status": measure_status, "link": measure_link, "reply": measure_reply}
LABEL = {"status": "take + resolve", "link": "link to an incident", "reply": "reply with a canned reply"}


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the bench creates its own database there).")
    os.environ["DATABASE_URL"] = recreate_database(url, BENCH_DB)
    # The e-mails are queued (outbox rows, a delivery task on the in-process broker), not sent: what
    # is measured is the work of the agent's request, as a web process does it; workers send later.
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from core import roles
    from tickets.models import Ticket

    try:
        call_command("migrate", verbosity=0)
        per_action = 2 * args.runs * args.tickets
        needed = per_action * len(args.actions)
        load(args.background + needed)
        agent = User.objects.create_user("bench-agent", first_name="Bench", last_name="Agent")
        agent.groups.add(Group.objects.get_or_create(name=roles.AGENT)[0])
        ids = list(Ticket.objects.order_by("pk").values_list("pk", flat=True)[:needed])
        print(f"{len(ids) + args.background:,} tickets; load average {os.getloadavg()[0]:.2f}")
        for i, action in enumerate(args.actions):
            mine = ids[i * per_action : (i + 1) * per_action]
            bulk, loop = MEASURE[action](args, agent, mine)
            b, lo = statistics.median(bulk), statistics.median(loop)
            print(
                f"{LABEL[action]} {args.tickets:,} tickets: bulk median {b * 1000:.0f} ms "
                f"({min(bulk) * 1000:.0f}–{max(bulk) * 1000:.0f}), per-ticket loop median {lo:.2f} s "
                f"({min(loop):.2f}–{max(loop):.2f}) → bulk is {lo / b:.0f}× faster; "
                f"load average {os.getloadavg()[0]:.2f}"
            )
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url, BENCH_DB)


if __name__ == "__main__":
    main()
