"""Benchmark: incident declared → alert received by N connected agent websockets.

Real parts only: daphne (ASGI, websockets) with the Redis channel layer, a Celery worker on Redis,
PostgreSQL (a bench database of its own), N websocket clients logged in as agents through session
cookies made directly in the database, loopback only.

Scenarios
  live     clients connected and caught up; ops declare an incident (incident_declare); time until
           every client has the alert (measured from just before the declare call).
  restart  the same, but Redis is stopped before the declaration and started again right after it:
           the push is lost by design, the declaration commits anyway, and clients reconnect with
           their last id and catch up from the rows (the periodic sweep pushes later as well).
           Restarts the machine's Redis: run it only where that is acceptable.
  polling  the naive baseline, what a desk without push does: the websockets are closed and the
           same N agents (same session cookies; as many daphne processes, fresh ones with
           CONN_MAX_AGE=0, see bench/README.md) GET the banner fragment
           (notifications:banner) every --poll-interval seconds from random phases; one incident
           is declared the same way; time until each client's poll response has its title. Prints
           p50/p99, their ratio to the push figures (all live declarations pooled) and the HTTP
           request rate polling puts on the server.

  scale    (--balancer) the scale-out shape: clients connect through HAProxy (deploy/haproxy/haproxy.cfg,
           started by tests/scale/web.py) to --servers daphne processes, while wrk drives mixed agent
           HTTP (bench/load_agents.py's pages) through the same balancer to --http-servers gunicorn
           processes (--http-load seconds); --single-baseline then puts every client on one daphne
           process, no balancer, and prints the ratio.

Run:  .venv/bin/python bench/bench_alerts_ws.py [--clients 500] [--servers 2] [--skip-restart]
                                                [--poll-interval 5]
      .venv/bin/python bench/bench_alerts_ws.py --clients 2000 --servers 3 --balancer --http-servers 1 \
          --http-load 40 --skip-restart --skip-baseline --single-baseline --ramp 20
Env:  BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/supportdesk_bench_alerts),
      BENCH_REDIS_URL (default redis://127.0.0.1:6379/5).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from benchdb import free_port

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/supportdesk_bench_alerts"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip

os.environ.update(
    DATABASE_URL=DATABASE_URL,
    REDIS_URL=REDIS_URL,
    CELERY_TASK_ALWAYS_EAGER="0",
    LOG_LEVEL="ERROR",
)
# Persistent database connections, as a deployment would set: without them every database hop of
# every websocket handshake opens a new PostgreSQL connection.
os.environ.setdefault("CONN_MAX_AGE", "60")
# --layer-fix: measure the channel-layer settings proposed in bench/alerts_ws_settings.py.
# --pubsub: channels_redis's pub/sub layer instead (bench/alerts_ws_pubsub_settings.py).
os.environ["DJANGO_SETTINGS_MODULE"] = (
    "bench.alerts_ws_settings"
    if "--layer-fix" in sys.argv
    else "bench.alerts_ws_pubsub_settings"
    if "--pubsub" in sys.argv
    else "supportdesk.settings"
)
sys.path.insert(0, str(ROOT))


def ensure_database() -> None:
    import psycopg2

    url = urlparse(DATABASE_URL)
    name = url.path.lstrip("/")
    conn = psycopg2.connect(
        host=url.hostname, port=url.port or 5432, user=url.username, password=url.password, dbname="postgres"
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"daphne exited with {proc.returncode}") from None
            time.sleep(0.1)
    raise SystemExit("daphne did not listen")


def start(cmd: list[str], **env: str) -> subprocess.Popen:
    # Quiet: daphne would print an access-log line per websocket.
    return subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, **env}, start_new_session=True, stdout=subprocess.DEVNULL
    )


def start_daphne(port: int, **env: str) -> subprocess.Popen:
    # Twisted's default listen backlog (50) resets handshakes when hundreds arrive at once.
    endpoint = f"tcp:port={port}:interface=127.0.0.1:backlog=1024"
    return start(
        [sys.executable, "-m", "daphne", "-v", "0", "-e", endpoint, "supportdesk.asgi:application"], **env
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def make_agents(n: int) -> list[str]:
    """n agents with a logged-in session each; returns their session keys."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore

    group = Group.objects.get(name="agent")
    User.objects.filter(username__startswith="bench-agent-").delete()
    users = User.objects.bulk_create(
        [User(username=f"bench-agent-{i}", password="!") for i in range(n)]  # unusable password
    )
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=u.pk, group_id=group.pk) for u in users]
    )
    keys = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


ERRORS: dict[str, int] = {}  # why clients had to reconnect


class Client:
    """Behaves like static/js/alerts.js: hello with last_id, dedupe by id, reconnect with backoff."""

    def __init__(self, url: str, origin: str, session_key: str):
        self.url, self.origin, self.session_key = url, origin, session_key
        self.last_id: int | None = None
        self.seen: set[int] = set()
        self.arrivals: dict[int, float] = {}
        self.caught_up = asyncio.Event()
        self.reconnects = 0
        self.closing = False

    async def resync(self, ws) -> None:
        """The periodic hello: re-joins groups a Redis restart forgot and fetches what was missed."""
        while True:
            await asyncio.sleep(RESYNC_SECONDS)
            await ws.send(json.dumps({"type": "hello", "last_id": self.last_id}))

    async def run(self) -> None:
        import websockets

        attempt = 0
        while not self.closing:
            try:
                async with websockets.connect(
                    self.url,
                    origin=self.origin,
                    additional_headers={"Cookie": f"sessionid={self.session_key}"},
                    open_timeout=20,
                    ping_interval=None,
                ) as ws:
                    attempt = 0
                    await ws.send(json.dumps({"type": "hello", "last_id": self.last_id}))
                    resync = asyncio.create_task(self.resync(ws))
                    try:
                        async for raw in ws:
                            message = json.loads(raw)
                            if message["type"] == "alert":
                                alert_id = message["alert"]["id"]
                                if alert_id not in self.seen:
                                    self.seen.add(alert_id)
                                    self.arrivals[alert_id] = time.monotonic()
                                    self.last_id = max(self.last_id or 0, alert_id)
                            elif message["type"] == "caught-up":
                                self.last_id = max(self.last_id or 0, message["last_id"])
                                self.caught_up.set()
                    finally:  # also when the socket fails or the bench cancels the client
                        resync.cancel()
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect, like the browser
                ERRORS[type(exc).__name__] = ERRORS.get(type(exc).__name__, 0) + 1
            if self.closing:
                return
            self.reconnects += 1
            attempt += 1
            delay = min(10.0, 0.5 * 2 ** (attempt - 1))
            await asyncio.sleep(delay / 2 + random.random() * delay / 2)


RESYNC_SECONDS = 15  # as static/js/alerts.js


def declare(title: str) -> tuple[int, float]:
    """Declare through the real service, as the API would; returns the alert id and start time."""
    from django.contrib.auth.models import User

    from customers.models import Area, Service
    from incidents.services import incident_declare
    from notifications.models import Alert

    ops, _ = User.objects.get_or_create(username="bench-ops")
    area, _ = Area.objects.get_or_create(
        code="bench-area", defaults={"name": "Bench", "kind": "municipality"}
    )
    service, _ = Service.objects.get_or_create(code="bench-service", defaults={"name": "Bench"})
    started = time.monotonic()
    result = incident_declare(
        title=title,
        kind="outage",
        severity=3,
        services=[service],
        areas=[area],
        equipment=[],
        public_message={"en": "Bench outage"},
        agent_script={"en": "It is on our side."},
        actor=ops,
    )
    declared = time.monotonic()
    alert = Alert.objects.get(incident=result.incident, kind="incident-declared")
    print(
        f"  incident_declare returned (committed, fan-out enqueued) after {(declared - started) * 1000:.0f} ms"
    )
    return alert.pk, started


POLL_ERRORS: dict[str, int] = {}  # why polls failed


class Poller:
    """An agent's page without push: GETs the banner fragment every ``interval`` seconds.

    Plain asyncio HTTP/1.1 over one keep-alive connection (reopened after a failure), like a
    browser tab; the poll schedule is fixed (as htmx ``every``), from a random phase.
    """

    def __init__(self, port: int, session_key: str, path: str):
        self.port = port
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: sessionid={session_key}\r\n"
            "HX-Request: true\r\nAccept: text/html\r\n\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.watch: str | None = None  # the title to look for
        self.found: dict[str, float] = {}
        self.latencies: list[float] = []
        self.closing = False
        self.requests = 0  # responses, whatever their status: the load on the server

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def get(self) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(self.request)
        await self.writer.drain()
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *lines = head.split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines if h)}
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            await self.reader.readline()
            body = b"".join(parts)
        else:
            body = await self.reader.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return int(status_line.split()[1]), body

    async def run(self, interval: float) -> None:
        await asyncio.sleep(random.random() * interval)
        next_at = time.monotonic()
        while not self.closing:
            sent = time.monotonic()
            try:
                async with asyncio.timeout(30):  # not wait_for: on 3.11 it can swallow a cancel
                    status, body = await self.get()
                done = time.monotonic()
                self.requests += 1
                self.latencies.append(done - sent)
                if status != 200:
                    POLL_ERRORS[f"HTTP {status}"] = POLL_ERRORS.get(f"HTTP {status}", 0) + 1
                elif self.watch and self.watch not in self.found and self.watch.encode() in body:
                    self.found[self.watch] = done
            except asyncio.CancelledError:
                self.close()
                raise
            except Exception as exc:  # noqa: BLE001 - a failed poll: reconnect and poll again
                POLL_ERRORS[str(exc) or type(exc).__name__] = (
                    POLL_ERRORS.get(str(exc) or type(exc).__name__, 0) + 1
                )
                self.close()
            next_at = max(next_at + interval, time.monotonic())  # a late poll does not burst
            await asyncio.sleep(next_at - time.monotonic())


def resolve_leftover_incidents() -> int:
    """Resolve the active incidents earlier bench runs declared, so the banner holds this run's only."""
    from django.utils import timezone

    from incidents.models import Incident

    return (
        Incident.objects.active()
        .filter(title__startswith="Bench outage")
        .update(status=Incident.Status.RESOLVED, resolved_at=timezone.now())
    )


async def polling_baseline(args, keys: list[str], ports: list[int], push: dict) -> dict:
    """The naive baseline: the same agents poll the banner fragment instead of holding a websocket."""
    from asgiref.sync import sync_to_async
    from django.urls import reverse

    path = reverse("notifications:banner")
    pollers = [
        Poller(port, key, path)
        for key, port in zip(keys, [ports[i % len(ports)] for i in range(len(keys))], strict=True)
    ]
    interval = args.poll_interval
    tasks = [asyncio.create_task(p.run(interval)) for p in pollers]
    try:
        await asyncio.sleep(interval)  # every client has started polling (and warmed the servers)
        for p in pollers:
            p.latencies.clear()
        window_start, requests_before = time.monotonic(), sum(p.requests for p in pollers)
        await asyncio.sleep(2 * interval)  # steady polling, nothing new: the idle request rate
        window = time.monotonic() - window_start
        requests = sum(p.requests for p in pollers) - requests_before
        title = f"Bench outage polled {os.getpid()}"
        for p in pollers:
            p.watch = title
        _, started = await sync_to_async(declare)(title)
        timeout = 2 * interval + 30
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(title in p.found for p in pollers):
            await asyncio.sleep(0.01)
    finally:
        for p in pollers:
            p.closing = True
        for task in tasks:
            task.cancel()
        _, pending = await asyncio.wait(tasks, timeout=10)
        if pending:
            print(f"{len(pending)} pollers did not stop")
    # Over all clients: one that never saw the incident counts as later than any that did (null).
    got = [p.found[title] - started if title in p.found else float("inf") for p in pollers]
    received = sum(x != float("inf") for x in got)
    figures = {"scenario": f"polling every {interval:g} s", "clients": len(pollers), "received": received}
    figures.update(
        {k: round(v * 1000, 1) if v != float("inf") else None for k, v in percentiles(got).items()}
    )
    if received < len(got):
        figures["mean"] = None
        figures["gave_up_after_s"] = timeout
    latencies = [x for p in pollers for x in p.latencies]
    if latencies:
        lat = percentiles(latencies)
        figures["poll_response_ms"] = {k: round(lat[k] * 1000, 1) for k in ("p50", "p99", "max")}
    figures["requests_per_s"] = round(requests / window, 1)
    figures["poll_errors"] = dict(POLL_ERRORS)
    print(json.dumps(figures))
    if push.get("p50"):

        def ratio(q: str) -> str:
            if figures[q] is None:  # fewer than q of the clients saw it before the bench gave up
                return f"{q} > {timeout * 1000:.0f} / {push[q]:.0f} ms = > {timeout * 1000 / push[q]:.0f}x"
            return f"{q} {figures[q]:.0f} / {push[q]:.0f} ms = {figures[q] / push[q]:.1f}x"

        print(
            f"baseline/push: {ratio('p50')}, {ratio('p99')} "
            f"(push: all {push['runs']} live declarations pooled, {push['received']} arrivals)"
        )
    print(
        f"server load while idle: polling {figures['requests_per_s']} HTTP requests/s "
        f"({requests} in {window:.1f} s); push 0 HTTP requests/s "
        f"(open sockets send a hello frame every {RESYNC_SECONDS} s: {len(keys) / RESYNC_SECONDS:.1f} frames/s)"
    )
    return figures


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    return {
        "min": ordered[0],
        "p50": pick(0.50),
        "p99": pick(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


async def wait_all(clients: list[Client], alert_id: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(alert_id in c.arrivals for c in clients):
            return
        await asyncio.sleep(0.01)


def push_delay_ms(alert_id: int) -> float | None:
    """From the alert row's creation to the worker marking it pushed (after group_send returned)."""
    from notifications.models import Alert

    alert = Alert.objects.get(pk=alert_id)
    return round((alert.pushed_at - alert.created_at).total_seconds() * 1000, 1) if alert.pushed_at else None


def report(name: str, clients: list[Client], alert_id: int, started: float, pushed_ms=None) -> dict:
    got = [c.arrivals[alert_id] - started for c in clients if alert_id in c.arrivals]
    figures = {"scenario": name, "clients": len(clients), "received": len(got), "row→pushed": pushed_ms}
    if got:
        figures.update({k: round(v * 1000, 1) for k, v in percentiles(got).items()})
    figures["reconnects"] = sum(c.reconnects for c in clients)
    figures["errors"] = dict(ERRORS)
    print(json.dumps(figures))
    return figures


def redis_restart_around(action) -> float:
    """Stop the machine's Redis, run ``action``, start Redis again; returns seconds Redis was down."""
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False, capture_output=True)
    down = time.monotonic()
    result = action()
    subprocess.run(REDIS_START, check=True)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True).stdout.strip() == b"PONG":
            break
        time.sleep(0.05)
    return result, time.monotonic() - down


async def connect_clients(clients: list[Client], ramp: float) -> list[asyncio.Task]:
    t = time.monotonic()
    tasks = []
    for c in clients:  # agents arrive over a few seconds, not in one instant
        tasks.append(asyncio.create_task(c.run()))
        await asyncio.sleep(ramp / len(clients))
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while time.monotonic() < deadline and not all(c.caught_up.is_set() for c in clients):
        await asyncio.sleep(0.1)
    ready = sum(c.caught_up.is_set() for c in clients)
    print(f"{ready} of {len(clients)} clients connected and caught up in {time.monotonic() - t:.1f} s")
    if ready < len(clients):
        await close_clients(clients, tasks)
        raise NotConnected(f"{len(clients) - ready} clients not caught up after {CONNECT_TIMEOUT} s")
    return tasks


CONNECT_TIMEOUT = 300  # seconds for every client to connect and catch up


class NotConnected(Exception):
    pass


async def close_clients(clients: list[Client], tasks: list[asyncio.Task]) -> None:
    for c in clients:
        c.closing = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def live_runs(args, clients: list[Client], label: str = "live") -> list[float]:
    """``args.runs`` declarations; returns every arrival delay (seconds) pooled."""
    from asgiref.sync import sync_to_async

    arrivals = []
    for run in range(args.runs):
        alert_id, started = await sync_to_async(declare)(f"Bench outage {label} {run}")
        await wait_all(clients, alert_id, 30)
        arrivals += [c.arrivals[alert_id] - started for c in clients if alert_id in c.arrivals]
        pushed = await sync_to_async(push_delay_ms)(alert_id)
        report(f"{label} #{run + 1}", clients, alert_id, started, pushed)
        await asyncio.sleep(0.5)
    return arrivals


def start_http_load(url: str, seconds: int, connections: int) -> tuple[subprocess.Popen, str]:
    """bench/load_agents.py's mixed agent traffic with ``wrk``, in the background, at ``url``."""
    from benchdb import start_wrk_agents
    from load_agents import agent_paths

    paths, cookie = agent_paths()
    proc = start_wrk_agents(url, paths, cookie, connections=connections, duration=seconds, threads=1)
    return proc, f"{connections} agents' mixed HTTP for {seconds} s over {len(paths)} URLs"


def finish_http_load(proc: subprocess.Popen, what: str) -> dict:
    from benchdb import wrk_figures

    figures = wrk_figures(proc)
    errors, rate = figures["errors"], figures["rate"]
    print(
        f"HTTP through the balancer meanwhile ({what}): {figures['requests']:,} requests, {rate:.1f}/s; "
        f"p50 {figures['p50'] / 1000:.0f} ms, p99 {figures['p99'] / 1000:.0f} ms; errors {errors} "
        f"(non-2xx/3xx {figures['non2xx']}, socket {figures['socket']})"
    )
    return figures


async def main(args) -> None:
    ensure_database()
    import django

    django.setup()
    from asgiref.sync import sync_to_async

    if args.http_load:  # the agent's pages need the demo desk (idempotent: loads nothing twice)
        from django.core.management import call_command

        await sync_to_async(call_command)("seed_demo", customers=500, verbosity=0)
    keys = await sync_to_async(make_agents)(args.clients)
    print(f"resolved {await sync_to_async(resolve_leftover_incidents)()} incidents left by earlier runs")
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    tier = None
    if args.balancer:
        # The scale-out shape (tests/scale/web.py): HAProxy running deploy/haproxy/haproxy.cfg in
        # front of --servers daphne processes for /ws/ and --http-servers gunicorn ones for HTTP.
        from tests.scale.web import WebTier

        tier = WebTier(http=args.http_servers, ws=args.servers, env=dict(os.environ))
        ports, servers = [], []
        print(f"HAProxy on {tier.url}: {args.servers} daphne (/ws/), {args.http_servers} gunicorn (HTTP)")
    else:
        ports = [free_port() for _ in range(args.servers)]
        servers = [start_daphne(p) for p in ports]
    worker = start(
        [sys.executable, "-m", "celery", "-A", "supportdesk", "worker", "-l", "ERROR", "-c", "2"]
        + ["--without-gossip", "--without-mingle", "-n", f"bench-{os.getpid()}@%h"]
    )
    results = []
    try:
        if tier is not None:
            targets = [(f"{tier.ws_url}/ws/alerts/", tier.url)] * len(keys)
        else:
            for port, proc in zip(ports, servers, strict=True):
                wait_listening(port, proc)
            targets = [
                (f"ws://127.0.0.1:{port}/ws/alerts/", f"http://127.0.0.1:{port}")
                for port in (ports[i % len(ports)] for i in range(len(keys)))
            ]
        clients = [Client(url, origin, key) for (url, origin), key in zip(targets, keys, strict=True)]
        tasks = await connect_clients(clients, args.ramp)
        if tier is not None:
            rows = tier.balancer.servers()
            spread = {p.name: int(rows[("ws", p.name)]["scur"]) for p in tier.ws}
            print(f"sockets per daphne process (HAProxy leastconn): {spread}")
        await asyncio.sleep(args.idle)
        print(f"reconnects while idle for {args.idle:.0f} s: {sum(c.reconnects for c in clients)}")

        http_load = None
        if args.http_load:
            if tier is None:
                raise SystemExit("--http-load needs --balancer")
            http_load = await sync_to_async(start_http_load)(tier.url, args.http_load, args.http_connections)
        push_arrivals = await live_runs(args, clients)
        if http_load is not None:
            results.append(await sync_to_async(finish_http_load)(*http_load))

        if not args.skip_restart:
            (alert_id, started), down = await sync_to_async(redis_restart_around)(
                lambda: declare("Bench outage during a Redis restart")
            )
            print(f"Redis was down for {down:.2f} s; the declaration committed meanwhile")
            await wait_all(clients, alert_id, 60)
            results.append(report("redis restart", clients, alert_id, started))
        await close_clients(clients, tasks)

        push = {"runs": args.runs, "received": len(push_arrivals)}
        if push_arrivals:
            push.update({k: v * 1000 for k, v in percentiles(push_arrivals).items()})
            print(f"push, live declarations pooled: p50 {push['p50']:.0f} ms, p99 {push['p99']:.0f} ms")

        if args.single_baseline:
            # The naive shape: every agent on one daphne process, no balancer; same clients, same worker.
            port = free_port()
            single = start_daphne(port)
            servers.append(single)
            wait_listening(port, single)
            clients = [
                Client(f"ws://127.0.0.1:{port}/ws/alerts/", f"http://127.0.0.1:{port}", key) for key in keys
            ]
            try:
                tasks = await connect_clients(clients, args.ramp)
            except NotConnected as exc:
                print(f"one daphne process: {exc}; no declaration timed")
            else:
                base_arrivals = await live_runs(args, clients, label="one process")
                await close_clients(clients, tasks)
                base = {k: v * 1000 for k, v in percentiles(base_arrivals).items()}
                print(
                    f"one daphne process, pooled: p50 {base['p50']:.0f} ms, p99 {base['p99']:.0f} ms; "
                    f"ratio one process / {'balanced' if tier else 'spread'}: "
                    f"p50 {base['p50'] / push['p50']:.1f}x, p99 {base['p99'] / push['p99']:.1f}x"
                )

        if not args.skip_baseline:
            # Fresh daphne processes, as many, same settings, except CONN_MAX_AGE: Django's ASGI
            # handler runs each HTTP request's sync code in a thread of its own, so a persistent
            # connection is left behind per request (at 100 req/s PostgreSQL ran out of
            # connections within seconds). Websockets share one thread per process and are not hit.
            for proc in servers:
                stop(proc)
            ports = [free_port() for _ in range(args.servers)]
            servers[:] = [start_daphne(p, CONN_MAX_AGE=str(args.poll_conn_max_age)) for p in ports]
            for port, proc in zip(ports, servers, strict=True):
                wait_listening(port, proc)
            print(
                f"polling servers: {len(servers)} fresh daphne processes, CONN_MAX_AGE={args.poll_conn_max_age}"
            )
            results.append(await polling_baseline(args, keys, ports, push))
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        for proc in [*servers, worker]:
            stop(proc)
        if tier is not None:
            tier.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--servers", type=int, default=1, help="daphne processes (clients spread evenly)")
    parser.add_argument("--runs", type=int, default=3, help="live declarations to time")
    parser.add_argument("--skip-restart", action="store_true", help="do not restart the machine's Redis")
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds over which clients connect")
    parser.add_argument("--idle", type=float, default=1.0, help="seconds connected before the first declare")
    parser.add_argument(
        "--poll-interval", type=float, default=5.0, help="seconds between a polling client's banner GETs"
    )
    parser.add_argument(
        "--poll-conn-max-age",
        type=int,
        default=0,
        help="CONN_MAX_AGE of the polling baseline's daphne processes",
    )
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the polling baseline")
    parser.add_argument("--layer-fix", action="store_true", help="use bench/alerts_ws_settings.py")
    parser.add_argument("--pubsub", action="store_true", help="use bench/alerts_ws_pubsub_settings.py")
    parser.add_argument(
        "--balancer",
        action="store_true",
        help="clients connect through HAProxy (deploy/haproxy/haproxy.cfg) in front of the --servers daphne processes",
    )
    parser.add_argument("--http-servers", type=int, default=1, help="gunicorn processes behind --balancer")
    parser.add_argument(
        "--http-load",
        type=int,
        default=0,
        help="seconds of mixed agent HTTP (wrk) through --balancer during the declarations",
    )
    parser.add_argument("--http-connections", type=int, default=8, help="wrk connections for --http-load")
    parser.add_argument(
        "--single-baseline",
        action="store_true",
        help="then the same clients on one daphne process, no balancer: the naive baseline for --balancer",
    )
    # Killed (e.g. by `timeout`): leave through main's finally, which stops daphne and the worker;
    # they run in sessions of their own and would outlive the bench otherwise.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    asyncio.run(main(parser.parse_args()))
