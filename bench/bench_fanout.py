"""Benchmark the alert fan-out to many assignees (DESIGN.md: alerts for 3,000 matched tickets'
assignees, all pushed ≤ 3 s), against the per-alert loop it replaced, in the same run (bench/README.md,
"Fan-out").

(a) A real declaration whose scope covers ``--assignees`` open tickets, each assigned to a different
    agent: ``incident_declare`` links them, writes one ticket-matched alert per assignee (one bulk
    insert), and on commit enqueues the fan-out, which runs in-process (Celery eager) on the real
    Redis channel layer. The clock stops when the call returns: every alert has been handed to the
    layer and marked pushed. ``--listeners`` of the agents have a channel in their group, like a
    connected browser, and must each receive their alert.
(b) The same alerts, un-marked, pushed again by ``alerts_push`` in batches of FAN_OUT_BATCH (what the
    task runs), without the declaration around it.
(c) The loop it replaced: ``alert_push`` per alert (a SELECT, one async hop for group_send, an
    UPDATE each), on ``--loop-sample`` alerts, scaled up.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/7 \\
      .venv/bin/python bench/bench_fanout.py [--assignees 3000] [--runs 3] [--loop-sample 500] [--keep]
The database is ``supportdesk_bench_fanout`` (dropped and re-created, and dropped afterwards unless
--keep). Redis is needed (the layer is channels_redis, as in production).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchdb import drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "supportdesk_bench_fanout"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--assignees", type=int, default=3000, help="assigned open tickets, one agent each")
    p.add_argument("--runs", type=int, default=3, help="declarations (each on its own service)")
    p.add_argument("--listeners", type=int, default=50, help="agents with a listening channel")
    p.add_argument("--loop-sample", type=int, default=500, help="alerts the per-alert loop pushes")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    return p.parse_args()


def uptime() -> str:
    try:
        env = {**os.environ, "TZ": "UTC"}  # Django sets TZ to TIME_ZONE for the process
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False, env=env).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()[0]:.2f}"


def load(args) -> dict:
    """Agents (bulk), customers and one assigned open ticket per agent per run, by INSERT…SELECT."""
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from core import roles
    from customers.models import Area, Service

    services = Service.objects.bulk_create(
        [Service(code=f"email-{n}", name=f"E-mail {n}") for n in range(args.runs)]
    )
    area = Area.objects.create(code="se", name="Sweden", kind="country")
    ops = User.objects.create_user("bench-ops")
    ops.groups.add(Group.objects.get_or_create(name=roles.OPS)[0])
    agents = User.objects.bulk_create(
        [User(username=f"bench-agent-{n}", password="!") for n in range(args.assignees)]
    )
    group = Group.objects.get_or_create(name=roles.AGENT)[0]
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=a.pk, group_id=group.pk) for a in agents]
    )
    agent_ids = [a.pk for a in agents]
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO customers_customer (number, name, email, language, preferred_channel, created_at)
            SELECT (1000000 + i)::text, 'Customer ' || i, 'c' || i || '@example.com', 'sv', 'email', now()
            FROM generate_series(1, %s) AS i
            """,
            [args.assignees],
        )
        cur.execute("SELECT min(id) FROM customers_customer")
        c0 = cur.fetchone()[0]
        for service in services:
            cur.execute(
                """
                INSERT INTO tickets_ticket (customer_id, channel, category, service_id, service_source,
                    area_id, subject, description, status, priority, queue, created_at, updated_at,
                    sla_breached, keep_open, needs_attention, assignee_id)
                SELECT %(c0)s + i - 1, 'web', 'technical', %(service)s, 'given', %(area)s, 'Ticket ' || i,
                       'No e-mail.', 'open', 2, 'first-line', now() - interval '1 hour',
                       now() - interval '1 hour', false, false, false, (%(agents)s::int[])[i]
                FROM generate_series(1, %(count)s) AS i
                """,
                {
                    "c0": c0,
                    "service": service.pk,
                    "area": area.pk,
                    "count": args.assignees,
                    "agents": agent_ids,
                },
            )
        cur.execute("ANALYZE")
    return {"services": services, "ops": ops, "agents": agent_ids}


def listen(agent_ids: list[int]):
    """One channel in each of these agents' alert groups (as their browsers would be); returns a
    function that reads what arrived: one alert each is expected."""
    from channels.layers import get_channel_layer

    from notifications.services import user_group

    loop = asyncio.new_event_loop()
    layer = get_channel_layer()
    channel = loop.run_until_complete(layer.new_channel())
    for agent_id in agent_ids:
        loop.run_until_complete(layer.group_add(user_group(agent_id), channel))

    def received() -> list[int]:
        async def drain() -> list[int]:
            got = []
            while len(got) < len(agent_ids):
                try:
                    message = await asyncio.wait_for(layer.receive(channel), 5)
                except TimeoutError:
                    break
                got.append(message["alert"]["id"])
            return got

        try:
            return loop.run_until_complete(drain())
        finally:
            loop.close()

    return received


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL server) and REDIS_URL (the channel layer).")
    os.environ["DATABASE_URL"] = recreate_database(url, BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from incidents.services import incident_declare
    from notifications import services
    from notifications.models import Alert
    from supportdesk.celery import app

    app.conf.task_always_eager = True  # the fan-out runs in-process on commit: no worker pick-up latency
    try:
        call_command("migrate", verbosity=0)
        data = load(args)
        print(f"{args.assignees:,} agents, each with one assigned open ticket per run; {uptime()}")
        declare_s, batch_s = [], []
        for n, service in enumerate(data["services"]):
            received = listen(data["agents"][: args.listeners])
            t0 = time.perf_counter()
            incident = incident_declare(
                title=f"Mail down {n}", kind="outage", severity=3, services=[service], areas=[], equipment=[],
                public_message={"en": "E-mail is down."}, actor=data["ops"],
            ).incident  # fmt: skip
            declare_s.append(time.perf_counter() - t0)
            alerts = Alert.objects.filter(incident=incident, kind=Alert.Kind.TICKET_MATCHED)
            unpushed = alerts.filter(pushed_at__isnull=True).count()
            got = received()
            print(
                f"run {n + 1}: declare → {alerts.count():,} alerts pushed in {declare_s[-1]:.2f} s "
                f"(unpushed {unpushed}; {len(set(got))}/{args.listeners} listening agents got theirs)"
            )
            ids = list(alerts.values_list("pk", flat=True))
            alerts.update(pushed_at=None)
            t0 = time.perf_counter()
            for start in range(0, len(ids), services.FAN_OUT_BATCH):
                services.alerts_push(ids[start : start + services.FAN_OUT_BATCH])
            batch_s.append(time.perf_counter() - t0)
            print(f"       alerts_push alone, batches of {services.FAN_OUT_BATCH}: {batch_s[-1]:.2f} s")
        sample = ids[: args.loop_sample]
        Alert.objects.filter(pk__in=sample).update(pushed_at=None)
        t0 = time.perf_counter()
        for alert_id in sample:
            services.alert_push(alert_id)
        loop_s = (time.perf_counter() - t0) * len(ids) / len(sample)
        Alert.objects.filter(pushed_at__isnull=True).update(pushed_at=timezone.now())
        print(
            f"per-alert loop (alert_push each), {len(sample)} alerts scaled to {len(ids):,}: {loop_s:.2f} s"
        )
        print(
            f"median declare+fan-out {statistics.median(declare_s):.2f} s, median alerts_push "
            f"{statistics.median(batch_s):.2f} s; loop / alerts_push = {loop_s / statistics.median(batch_s):.1f}×; "
            f"{uptime()}"
        )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(url, BENCH_DB)


if __name__ == "__main__":
    main()
