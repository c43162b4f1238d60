"""Benchmark the customer e-mail outbox on PostgreSQL, Redis and real SMTP (see bench/README.md, "Outbox").

(a) An outage whose scope covers every active subscription of ``--customers`` generated customers
    (``supportdesk.seeding.load_scale_data``: about 1.6 subscriptions each) is declared through
    ``incidents.services.incident_declare``. Two Celery workers on the ``mail`` queue (``-c
    --concurrency`` processes each) send the notices to a local SMTP sink in its own process (a
    minimal asyncio server with PIPELINING; ``--aiosmtpd`` for the old one). Measured: the
    declaration, the time from the declaration to the last message the sink accepted, messages per
    second, and the CPU seconds of the workers, their PostgreSQL backends, the sink and the machine.
(b) Baseline, same run, workers stopped: ``--sample`` rows sent in this process with one SMTP
    connection per message, then as many with one connection per chunk without pipelining, then
    as many the outbox's way (one connection per chunk, pipelined). ``BENCH_PROFILE=1`` profiles each.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk REDIS_URL=redis://127.0.0.1:6379/7 \\
      .venv/bin/python bench/bench_outbox.py [--customers 62000] [--sample 1500] [--send-seconds 150] [--keep]
The server in DATABASE_URL is used; the database is ``supportdesk_bench_outbox`` (dropped and re-created
unless ``--reuse``, which keeps the customers of a run made with ``--keep``).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchdb import database_url, drop_database, free_port, recreate_database

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
    p.add_argument("--sample", type=int, default=1500, help="messages in each baseline leg")
    p.add_argument("--chunk", type=int, default=500, help="NOTIFICATION_CHUNK_SIZE")
    p.add_argument("--concurrency", type=int, default=2, help="processes per worker (celery -c)")
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    p.add_argument("--reuse", action="store_true", help="reuse a database kept by --keep")
    p.add_argument("--aiosmtpd", action="store_true", help="use an aiosmtpd sink (slower) instead")
    p.add_argument("--sink", nargs=2, metavar=("PORT", "STATUS_FILE"), help=argparse.SUPPRESS)
    return p.parse_args()


# --- the SMTP sink (its own process) -------------------------------------------------------------


def run_sink(port: int, status_file: str) -> None:
    """A minimal SMTP server on asyncio (not aiosmtpd: its per-command Python costs several times
    more, and it would be the bottleneck — this one must not be). It offers PIPELINING, accepts
    everything, counts messages, and writes {"count", "first", "last", "cpu"} (wall clock; its own
    CPU seconds) every 0.2 s."""
    import asyncio

    stats = {"count": 0, "first": None, "last": None, "cpu": 0.0}

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 bench-sink ESMTP\r\n")
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"DATA":
                    writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    await reader.readuntil(b"\r\n.\r\n")
                    now = time.time()
                    stats["count"] += 1
                    stats["first"] = stats["first"] or now
                    stats["last"] = now
                    writer.write(b"250 OK\r\n")
                elif verb == b"EHLO":
                    writer.write(b"250-bench-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 Bye\r\n")
                    break
                else:  # HELO, MAIL, RCPT, RSET, NOOP
                    writer.write(b"250 OK\r\n")
                if not reader._buffer:  # answer pipelined commands in one write
                    await writer.drain()
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(session, "127.0.0.1", port, limit=1 << 20, backlog=256)
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stopping.set)
        while not stopping.is_set():
            usage = os.times()
            stats["cpu"] = usage.user + usage.system
            Path(status_file + ".tmp").write_text(json.dumps(stats))
            os.replace(status_file + ".tmp", status_file)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), 0.2)
        server.close()

    asyncio.run(main())


def run_aiosmtpd_sink(port: int, status_file: str) -> None:
    """The same counting sink on aiosmtpd (``--aiosmtpd``: what the bench used before), to show
    what the sink itself costs per message."""
    from aiosmtpd.controller import Controller

    stats = {"count": 0, "first": None, "last": None, "cpu": 0.0}

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
        return {"count": 0, "first": None, "last": None, "cpu": 0.0}


# --- where the CPU goes (sampled from /proc while sending) ----------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[int, float] | None:
    """(process group, CPU seconds) of a process, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / TICK


def _machine_busy() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / TICK  # all but idle and iowait


class CpuMeter:
    """CPU seconds used while sending by: the worker processes (each worker's process group), the
    PostgreSQL backends serving the bench database, the SMTP sink, and the whole machine (the rest is
    other people's work on this shared box). Processes alive at the start count from then on."""

    def __init__(self, workers: list[int], sink: int) -> None:
        self.workers, self.sink = set(workers), sink
        self.base: dict[str, float] = {}
        self.used = {"workers": 0.0, "postgres": 0.0, "sink": 0.0}
        self.last: dict[str, tuple[str, float]] = {}
        self.started = time.time()
        self.machine = _machine_busy()
        self.sample(first=True)

    def _group(self, pid: str, pgrp: int) -> str | None:
        if pgrp in self.workers:
            return "workers"
        if int(pid) == self.sink:
            return "sink"
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            return None
        if cmdline.startswith(b"postgres: ") and BENCH_DB.encode() in cmdline:
            return "postgres"
        return None

    def sample(self, first: bool = False) -> None:
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or (stat := _stat(pid)) is None:
                continue
            pgrp, cpu = stat
            if pid in self.last:
                group, before = self.last[pid]
                self.used[group] += cpu - before
                self.last[pid] = (group, cpu)
            elif (group := self._group(pid, pgrp)) is not None:
                self.last[pid] = (group, cpu)
                if not first:  # a process started since: all of its time is ours
                    self.used[group] += cpu

    def report(self, messages: int) -> str:
        self.sample()
        wall = time.time() - self.started
        machine = _machine_busy() - self.machine
        ours = sum(self.used.values())
        parts = [
            f"{name} {secs:.1f} s ({1000 * secs / max(messages, 1):.2f} ms/msg, {100 * secs / wall:.0f} % of a core)"
            for name, secs in self.used.items()
        ]
        return (
            f"CPU over {wall:.0f} s: "
            + "; ".join(parts)
            + f"; whole machine {machine:.0f} of {wall * os.cpu_count():.0f} core-seconds busy, "
            f"{machine - ours:.0f} of them not ours (other work on the box)"
        )


# --- the run -------------------------------------------------------------------------------------


def start_workers(env: dict, concurrency: int) -> list[subprocess.Popen]:
    procs = []
    for n in range(WORKERS):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "supportdesk",
                    "worker",
                    "-l",
                    "WARNING",
                    "-c",
                    str(concurrency),
                ]
                + [
                    "-Q",
                    "mail",
                    "-P",
                    "prefork",
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"bench-outbox-{n}@%h",
                ],
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
        (run_aiosmtpd_sink if args.aiosmtpd else run_sink)(int(args.sink[0]), args.sink[1])
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
        "NOTIFICATION_PARALLEL": str(WORKERS * args.concurrency),
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
    sink = subprocess.Popen(
        [sys.executable, __file__, "--sink", str(port), str(status_file)]
        + (["--aiosmtpd"] if args.aiosmtpd else []),
        cwd=ROOT,
    )
    try:
        started = time.monotonic()
        call_command("migrate", verbosity=0)
        if not args.reuse:
            load_scale_data(customers=args.customers)
            print(f"loaded {args.customers:,} customers in {time.monotonic() - started:.0f} s")
        Notification.objects.all().delete()
        app.control.purge()
        procs = start_workers(env, args.concurrency)
        deadline = time.monotonic() + 60
        while len(app.control.ping(timeout=0.5) or []) < WORKERS:
            if time.monotonic() > deadline:
                sys.exit("workers did not answer within 60 s")

        # (a) the declaration and the fan-out
        from incidents.services import incident_declare

        before = sink_stats(status_file)["count"]
        load = os.getloadavg()
        meter = CpuMeter([p.pid for p in procs], sink.pid)
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
            meter.sample()
            time.sleep(0.5)
        time.sleep(0.5)
        stats = sink_stats(status_file)
        print(f"(a) {meter.report(stats['count'] - before)}")
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
        rows = list(Notification.objects.filter(incident=result.incident).order_by("id")[: 3 * args.sample])
        from django.conf import settings

        legs = {}
        for name, part, per_message, pipelining in (
            ("per-message connection", rows[: args.sample], True, False),
            ("connection per chunk, no pipelining", rows[args.sample : 2 * args.sample], False, False),
            ("outbox (connection per chunk, pipelined)", rows[2 * args.sample :], False, True),
        ):
            settings.NOTIFICATION_SMTP_PIPELINING = pipelining
            Notification.objects.filter(pk__in=[r.pk for r in part]).update(
                state="pending", claimed_until=None, sent_at=None
            )
            # Only this leg's rows are due.
            Notification.objects.exclude(pk__in=[r.pk for r in part]).filter(state="pending").update(
                state="failed"
            )
            b0 = sink_stats(status_file)["count"]
            profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
            t = time.monotonic()
            if profile:
                profile.enable()
            while outbox.outbox_deliver(_connection_per_message=per_message).claimed:
                pass
            elapsed = time.monotonic() - t
            if profile:
                profile.disable()
                pstats.Stats(profile).sort_stats("tottime").print_stats(18)
            time.sleep(0.4)
            n = sink_stats(status_file)["count"] - b0
            legs[name] = n / elapsed
            print(f"(b) {name}: {n:,} messages in {elapsed:.2f} s = {n / elapsed:,.0f} msg/s")
        base = legs["per-message connection"]
        print(
            "(b) ratios to the per-message connection: "
            + ", ".join(f"{name} {rate / base:.1f}x" for name, rate in legs.items())
            + f"; uptime: {subprocess.check_output(['uptime'], text=True).strip()}"
        )
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
