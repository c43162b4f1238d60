"""Benchmark the customer e-mail outbox on PostgreSQL, Redis and real SMTP (see bench/README.md, "Outbox").

(a) An outage whose scope covers every active subscription of ``--customers`` generated customers
    (``supportdesk.seeding.load_scale_data``: about 1.5 subscriptions each) is declared through
    ``incidents.services.incident_declare``. Two Celery worker processes send the notices to a local
    aiosmtpd sink running in its own process. Measured: the declaration, then the time from the
    declaration to the last message the sink accepted, and messages per second.
(b) Baseline, same run, workers stopped: ``--sample`` rows sent in this process with one SMTP
    connection per message, against the same number sent the outbox's way (one connection per chunk).

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk REDIS_URL=redis://127.0.0.1:6379/7 \\
      .venv/bin/python bench/bench_outbox.py [--customers 62000] [--sample 500] [--send-seconds 150] [--keep]
The server in DATABASE_URL is used; the database is ``supportdesk_bench_outbox`` (dropped and re-created).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchdb import database_url, drop_database, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "supportdesk_bench_outbox"
WORKERS = 2


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # About 1.63 active subscriptions per generated customer: 62,000 customers hold ~100,000.
    p.add_argument("--customers", type=int, default=62_000, help="generated customers")
    p.add_argument(
        "--send-seconds", type=float, default=150, help="stop waiting for the sink after this long"
    )
    p.add_argument("--sample", type=int, default=500, help="messages in each baseline leg")
    p.add_argument("--chunk", type=int, default=200, help="NOTIFICATION_CHUNK_SIZE")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    p.add_argument("--reuse", action="store_true", help="reuse a database kept by --keep")
    p.add_argument("--sink", nargs=2, metavar=("PORT", "STATUS_FILE"), help=argparse.SUPPRESS)
    return p.parse_args()


# --- the SMTP sink (its own process) -------------------------------------------------------------


def run_sink(port: int, status_file: str) -> None:
    """Accept everything, count it, and write {"count", "first", "last"} (wall clock) every 0.2 s."""
    from aiosmtpd.controller import Controller

    stats = {"count": 0, "first": None, "last": None}

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            now = time.time()
            stats["count"] += 1
            stats["first"] = stats["first"] or now
            stats["last"] = now
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    while running:
        Path(status_file + ".tmp").write_text(json.dumps(stats))
        os.replace(status_file + ".tmp", status_file)
        time.sleep(0.2)
    controller.stop()


def sink_stats(status_file: Path) -> dict:
    try:
        return json.loads(status_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {"count": 0, "first": None, "last": None}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the run -------------------------------------------------------------------------------------


def start_workers(env: dict) -> list[subprocess.Popen]:
    procs = []
    for n in range(WORKERS):
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "supportdesk", "worker", "-l", "WARNING", "-c", "1"]
                + ["-P", "prefork", "--without-gossip", "--without-mingle", "-n", f"bench-outbox-{n}@%h"],
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )
        )
    return procs


def stop_all(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    args = parse_args()
    if args.sink:
        run_sink(int(args.sink[0]), args.sink[1])
        return
    base_url = os.environ.get("DATABASE_URL", "")
    if not os.environ.get("REDIS_URL"):
        sys.exit("REDIS_URL must point at Redis (the workers' broker)")
    url = database_url(base_url, BENCH_DB) if args.reuse else recreate_database(base_url, BENCH_DB)
    port = free_port()
    status_file = Path(f"/tmp/bench_outbox_sink_{os.getpid()}.json")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "NOTIFICATION_CHUNK_SIZE": str(args.chunk),
        "NOTIFICATION_PARALLEL": str(WORKERS),
        "LOG_LEVEL": "WARNING",
        # As in production: the cached template loader, no query log in the workers.
        "DEBUG": "0",
    }
    os.environ.update(env)
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from notifications import outbox
    from notifications.models import Notification
    from supportdesk.celery import app
    from supportdesk.seeding import load_scale_data

    procs: list[subprocess.Popen] = []
    sink = subprocess.Popen([sys.executable, __file__, "--sink", str(port), str(status_file)], cwd=ROOT)
    try:
        started = time.monotonic()
        call_command("migrate", verbosity=0)
        loaded = load_scale_data(customers=args.customers)
        print(f"loaded {args.customers:,} customers in {time.monotonic() - started:.0f} s")
        Notification.objects.all().delete()
        app.control.purge()
        procs = start_workers(env)
        deadline = time.monotonic() + 60
        while len(app.control.ping(timeout=0.5) or []) < WORKERS:
            if time.monotonic() > deadline:
                sys.exit("workers did not answer within 60 s")
        del loaded

        # (a) the declaration and the fan-out
        from incidents.services import incident_declare

        before = sink_stats(status_file)["count"]
        load = os.getloadavg()
        t0 = time.time()
        result = incident_declare(
            title="Bench outage",
            kind="outage",
            severity=3,
            services=[],
            areas=[],
            equipment=[],
            affects_everyone=True,
            public_message={"sv": "Allt är nere.", "fi": "Kaikki on poikki.", "en": "Everything is down."},
            eta=None,
            actor=None,
        )
        t_declared = time.time()
        expected = Notification.objects.filter(incident=result.incident).count()
        print(
            f"declared: {result.affected_subscriptions:,} subscriptions, {expected:,} customers to tell, "
            f"{t_declared - t0:.2f} s (rows written in the declaration's transaction)"
        )
        while True:
            stats = sink_stats(status_file)
            if stats["count"] - before >= expected:
                break
            if time.time() - t0 > args.send_seconds:
                print(f"stopped waiting: {stats['count'] - before:,} of {expected:,} accepted")
                break
            time.sleep(0.5)
        time.sleep(0.5)
        stats = sink_stats(status_file)
        sent = Notification.objects.filter(incident=result.incident, state="sent").count()
        accepted = stats["count"] - before
        total = stats["last"] - t0
        print(
            f"(a) {accepted:,} of {expected:,} accepted ({sent:,} rows marked sent) — declaration to "
            f"last message {total:.1f} s: {accepted / total:,.0f} msg/s overall, "
            f"{accepted / (stats['last'] - t_declared):,.0f} msg/s from commit"
            + (
                ""
                if accepted >= expected
                else f"; all {expected:,} at this rate: {expected * total / accepted:,.0f} s"
            )
            + f"; load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}"
        )
        stop_all(procs)
        procs = []

        # (b) baseline on a sample: one connection per message vs. one per chunk, in this process
        rows = list(Notification.objects.filter(incident=result.incident).order_by("id")[: 2 * args.sample])
        legs = {}
        for name, part, per_message in (
            ("per-message connection", rows[: args.sample], True),
            ("outbox (connection per chunk)", rows[args.sample :], False),
        ):
            Notification.objects.filter(pk__in=[r.pk for r in part]).update(
                state="pending", claimed_until=None, sent_at=None
            )
            # Only this leg's rows are due.
            Notification.objects.exclude(pk__in=[r.pk for r in part]).filter(state="pending").update(
                state="failed"
            )
            b0 = sink_stats(status_file)["count"]
            t = time.monotonic()
            while outbox.outbox_deliver(_connection_per_message=per_message).claimed:
                pass
            elapsed = time.monotonic() - t
            time.sleep(0.4)
            n = sink_stats(status_file)["count"] - b0
            legs[name] = n / elapsed
            print(f"(b) {name}: {n:,} messages in {elapsed:.2f} s = {n / elapsed:,.0f} msg/s")
        ratio = legs["outbox (connection per chunk)"] / legs["per-message connection"]
        print(f"(b) ratio: {ratio:.1f}x; uptime: {subprocess.check_output(['uptime'], text=True).strip()}")
        connection.close()
    finally:
        stop_all(procs)
        sink.send_signal(signal.SIGTERM)
        sink.wait(10)
        status_file.unlink(missing_ok=True)
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(base_url, BENCH_DB)


if __name__ == "__main__":
    main()
