"""Lists over HTTP with 4 concurrent agents at 1,000,000 tickets (issue 10: p95 ≤ 100 ms): the
first-line queue page and the ticket API list by cursor, against the API list paged the old way
(LIMIT/OFFSET with a COUNT(*)) in the same run, by the same server.

Loads the scale data with ``supportdesk.seeding.load_scale_data`` (COPY) into its own database
(``BENCH_DB``, default ``supportdesk_bench_lists``; ``--keep`` leaves it, ``--reuse`` skips the
load), serves the desk (DEBUG off, ``bench/lists_settings.py``: the desk's settings plus the old
paginator at ``/bench/offset/tickets/``) on a free loopback port with ``--server``: gunicorn as
deploy/gunicorn.conf.py runs it (the production shape for HTTP), or one daphne process, and points
``wrk`` at it with ``--connections`` agents' sessions for ``--duration`` seconds per scenario, the
scenarios interleaved ``--rounds`` times. Each scenario's requests pick one of its URLs at random:

- ``queue``: the first-line queue page (status new, unassigned, SLA order), first page and deep
  pages (keyset ``?after=``), as bench_queue.py renders it in-process.
- ``api cursor, first`` / ``api offset, first``: page 1 of ``/api/v1/tickets/``, unfiltered and
  ``?status=new``; the old way at ``/bench/offset/tickets/``.
- ``api cursor, deep`` / ``api offset, deep``: pages 100 and 2,000 (rows 4,951 and 99,951 on), each
  way's own link to them: a cursor, or an ``offset``.

Prints p50/p95/p99, requests per second and errors (must be 0) per scenario and round, the ratio of
the old way's p50/p95 to the cursor's, and the load average.

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_DB=supportdesk_bench_lists \
      .venv/bin/python bench/bench_lists_http.py [--customers 1000000] [--duration 15] [--rounds 2] \
      [--connections 4] [--server gunicorn|daphne] [--keep] [--reuse]
Needs Debian's ``wrk``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchdb import database_url, drop_database, free_port, load_average, recreate_database, run_wrk_agents

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("BENCH_DB", "supportdesk_bench_lists")
QUEUE = "/desk/queue/?queue=first-line&status=new&unassigned=1"
DEEP_PAGES = (100, 2000)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=1_000_000, help="customers (about one ticket each)")
    p.add_argument("--duration", type=int, default=15, help="seconds per scenario and round")
    p.add_argument("--rounds", type=int, default=2, help="times the scenarios run, interleaved")
    p.add_argument("--connections", type=int, default=4, help="concurrent agents (wrk connections)")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    p.add_argument("--reuse", action="store_true", help="reuse a kept bench database (skip the load)")
    p.add_argument(
        "--server",
        choices=["gunicorn", "daphne"],
        default="gunicorn",
        help="gunicorn: the production shape for HTTP (deploy/gunicorn.conf.py, 2 gthread workers x 4 "
        "threads, CONN_MAX_AGE=60); daphne: one process, CONN_MAX_AGE=0 (make run's)",
    )
    return p.parse_args()


def server_command(kind: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The web server's command line and the environment it adds."""
    if kind == "gunicorn":
        return (
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "deploy/gunicorn.conf.py",
                "supportdesk.wsgi:application",
            ],
            {
                "WEB_BIND": f"127.0.0.1:{port}",
                "WEB_CONCURRENCY": "2",
                "WEB_THREADS": "4",
                "CONN_MAX_AGE": "60",
            },
        )
    return (
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "supportdesk.asgi:application"],
        {"CONN_MAX_AGE": "0"},
    )


def session_cookie() -> str:
    """A logged-in agent's session cookie (the agent made if missing)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore

    agent, _ = User.objects.get_or_create(username="bench-agent")
    agent.groups.add(Group.objects.get(name="agent"))
    session = SessionStore()
    session[SESSION_KEY] = str(agent.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def scenarios() -> dict[str, list[str]]:
    """Each scenario's URLs, from the loaded data: the cursors are the ones the lists hand out."""
    from core.pagination import KeysetPagination
    from tickets.apis import TicketListOpenApi
    from tickets.models import Ticket
    from tickets.selectors import QUEUE_ORDERS, encode_cursor

    keys = list(
        Ticket.objects.open()
        .filter(queue="first-line", status="new", assignee__isnull=True)
        .alias(k=QUEUE_ORDERS["sla"])
        .order_by("k", "pk")
        .annotate(key=QUEUE_ORDERS["sla"])
        .values_list("key", "pk")[49 : max(DEEP_PAGES) * 50 : 50]
    )
    queue = [QUEUE] + [
        f"{QUEUE}&after={encode_cursor(*keys[p - 2])}" for p in DEEP_PAGES if p - 2 < len(keys)
    ]

    paginator = TicketListOpenApi.pagination_class()
    assert isinstance(paginator, KeysetPagination)
    first, deep, old_first, old_deep = [], [], [], []
    for filters in ("", "status=new"):
        qs = Ticket.objects.filter(status="new") if filters else Ticket.objects.all()
        ids = list(qs.order_by("-pk").values_list("pk", flat=True)[49 : max(DEEP_PAGES) * 50 : 50])
        sep = "&" if filters else ""
        first.append(f"/api/v1/tickets/?{filters}")
        old_first.append(f"/bench/offset/tickets/?{filters}")
        for page in DEEP_PAGES:
            if page - 2 < len(ids):
                cursor = paginator.encode_cursor(Ticket(pk=ids[page - 2]), backwards=False)
                deep.append(f"/api/v1/tickets/?{filters}{sep}cursor={cursor}")
                old_deep.append(f"/bench/offset/tickets/?{filters}{sep}offset={(page - 1) * 50}")
    return {
        "queue": queue,
        "api cursor, first": first,
        "api offset, first": old_first,
        "api cursor, deep": deep,
        "api offset, deep": old_deep,
    }


def check_urls(port: int, cookie: str, table: dict[str, list[str]]) -> None:
    """Every URL answers 200 before anything is timed (a 400 would be timed as a fast answer)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for paths in table.values():
        for path in paths:
            conn.request("GET", path, headers={"Cookie": cookie})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                sys.exit(f"{path}: HTTP {response.status}")
    conn.close()


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    bench_url = database_url(url, BENCH_DB) if args.reuse else recreate_database(url, BENCH_DB)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from supportdesk.seeding import ensure_catalogue, load_scale_data
    from tickets.models import Ticket

    server = None
    try:
        call_command("migrate", verbosity=0)  # on --reuse: builds indexes added since the load
        if not args.reuse:
            ensure_catalogue()
            t0 = time.perf_counter()
            load_scale_data(customers=args.customers)
            print(f"loaded {args.customers:,} customers in {time.perf_counter() - t0:.1f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"{Ticket.objects.count():,} tickets in the table", flush=True)
        table = scenarios()
        cookie = session_cookie()
        port = free_port()
        env = {
            **os.environ,
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "DJANGO_SETTINGS_MODULE": "lists_settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")]),
        }
        command, extra = server_command(args.server, port)
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**env, **extra},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        check_urls(port, cookie, table)
        print(
            f"{args.server} on port {port}; {args.connections} agents, {args.duration} s per scenario, "
            f"{args.rounds} rounds",
            flush=True,
        )
        print(
            f"{'round':<6} {'scenario':<18} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>7} {'errors':>6}  load"
        )
        results: dict[str, list[dict]] = {name: [] for name in table}
        for round_number in range(1, args.rounds + 1):
            for name, paths in table.items():
                figures = run_wrk_agents(
                    f"http://127.0.0.1:{port}",
                    paths,
                    cookie,
                    connections=args.connections,
                    duration=args.duration,
                )
                results[name].append(figures)
                print(
                    f"{round_number:<6} {name:<18} {figures['p50'] / 1000:>7.1f} {figures['p95'] / 1000:>7.1f} "
                    f"{figures['p99'] / 1000:>7.1f} {figures['rate']:>7.1f} {figures['errors']:>6}  {load_average()}",
                    flush=True,
                )
        for kind in ("first", "deep"):
            new, old = results[f"api cursor, {kind}"], results[f"api offset, {kind}"]
            for q in ("p50", "p95"):
                ratios = [o[q] / n[q] for n, o in zip(new, old, strict=True) if n[q]]
                print(f"{kind} pages, {q}: offset/COUNT ÷ cursor = " + ", ".join(f"{r:.1f}×" for r in ratios))
        if any(f["errors"] for runs in results.values() for f in runs):
            sys.exit("errors: see the table")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)  # gunicorn's workers too (their own session)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:  # daphne waits for its open keep-alive connections
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(url, BENCH_DB)


if __name__ == "__main__":
    main()
