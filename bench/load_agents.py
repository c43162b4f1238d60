"""A bounded loopback load test of mixed agent traffic (issue 15): run on demand, not in CI.

Seeds the demo (``--customers`` generated customers) into its own database, serves the desk with
daphne (DEBUG off) on a free loopback port, and points ``wrk`` at it for ``--duration`` seconds
with ``--connections`` agents' sessions, each request picking one of: the first-line queue, the
second-line queue, a ticket page, the caller look-up, a search, the ticket API list, the incident
API list. Prints requests per second, the latency percentiles (p50/p90/p99) and the error count
(socket errors and non-2xx/3xx answers), which must be 0.

Needs Debian's ``wrk`` (``apt-get install wrk``) and PostgreSQL + Redis:
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/5 \
      .venv/bin/python bench/load_agents.py [--duration 60] [--connections 8] [--customers 2000]
The database is ``supportdesk_bench_load`` (dropped and re-created; dropped again afterwards).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchdb import drop_database, free_port, recreate_database, run_wrk_agents

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "supportdesk_bench_load"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=60, help="seconds of load")
    p.add_argument("--connections", type=int, default=8, help="concurrent agents (wrk connections)")
    p.add_argument("--customers", type=int, default=2000, help="generated demo customers")
    return p.parse_args()


def agent_paths() -> tuple[list[str], str]:
    """The URLs an agent's day is made of, from the seeded data, and the demo agent's session cookie."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from customers.models import Customer
    from tickets.models import Ticket

    agent = User.objects.get(username="agent")
    session = SessionStore()
    session[SESSION_KEY] = str(agent.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session.create()
    rnd = random.Random(7)
    tickets = list(Ticket.objects.open().order_by("?").values_list("pk", flat=True)[:40])
    numbers = list(Customer.objects.order_by("?").values_list("number", flat=True)[:20])
    paths = ["/desk/queue/", "/desk/queue/?queue=second-line", "/desk/escalations/"] * 4
    paths += [f"/desk/tickets/SD-{pk}/" for pk in tickets]
    paths += [f"/desk/lookup/?q={n}" for n in numbers]
    paths += [f"/desk/search/?q={w}" for w in rnd.sample(["router", "faktura", "internet", "mejl", "TV"], 5)]
    paths += ["/api/v1/tickets/?page_size=50", "/api/v1/incidents/"] * 4
    return paths, f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    url = os.environ.get("DATABASE_URL", "")
    if not url or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL; the bench creates its own database.")
    os.environ["DATABASE_URL"] = recreate_database(url, BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    server = None
    try:
        call_command("migrate", verbosity=0)
        call_command("seed_demo", customers=args.customers, verbosity=0)
        paths, cookie = agent_paths()
        print(f"seeded the demo with {args.customers:,} generated customers; {len(paths)} URLs", flush=True)
        port = free_port()
        env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "CELERY_TASK_ALWAYS_EAGER": "1"}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "supportdesk.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        print(f"daphne on port {port}; wrk for {args.duration} s", flush=True)
        load_before = os.getloadavg()[0]
        figures = run_wrk_agents(
            f"http://127.0.0.1:{port}", paths, cookie, connections=args.connections, duration=args.duration
        )
        errors, rate = figures["errors"], figures["rate"]
        print(
            f"{args.connections} agents for {args.duration} s over {len(paths)} URLs: {figures['requests']:,} requests, "
            f"{rate:.1f}/s; latency p50 {figures['p50'] / 1000:.0f} ms, p90 {figures['p90'] / 1000:.0f} ms, "
            f"p99 {figures['p99'] / 1000:.0f} ms; errors {errors} (non-2xx/3xx {figures['non2xx']}, "
            f"socket {figures['socket']}); load average {load_before:.2f} → {os.getloadavg()[0]:.2f}"
        )
        if errors:
            sys.exit(1)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:  # daphne waits for its open keep-alive connections
                server.kill()
                server.wait()
        from django.db import connections

        connections.close_all()
        drop_database(url, BENCH_DB)


if __name__ == "__main__":
    main()
