"""Tickets opened per second over HTTP: the customer portal's form, the agent's form and the API, against
a served desk with 100 active incidents — and django-helpdesk's public form in the same run (issue 10).

What runs, all on loopback: the desk's own database (``$BENCH_DB``, default ``supportdesk_bench_create``,
dropped and re-created, then dropped again unless ``--keep``) seeded with ``seed_demo --customers N``
(about one ticket per customer), ``--incidents`` active incidents in all (the demo's two plus ones declared
through ``incident_declare``: a few cover the customer the bench writes as, the rest other services and
places), a server started from ``--server-cmd`` (default: daphne as Compose runs it), a Celery worker on
every queue (so the confirmation e-mail each ticket queues is rendered and "sent" on the same two cores, as
the peer renders its own; ``--no-worker`` to leave it out), and ``wrk`` at ``--conns`` connections for
``--duration`` seconds per step. Steps, interleaved ``--rounds`` times:

- ``portal``: the demo customer ``kund`` POSTs the new-ticket form (``/my/tickets/new/``) with a fresh
  double-submit token per request and her broadband subscription picked (two incidents explain it);
- ``staff``: the demo ``agent`` POSTs the agent's form for her (``/desk/customers/1000001/tickets/``),
  phone channel, past the duplicate check (``duplicate_ok``), with a token;
- ``api``: the agent POSTs JSON to ``/api/v1/tickets/`` with the session cookie and ``X-CSRFToken``
  (no subscription named: her words pick the broadband one);
- ``peer``: ``../shared/peer-bench/peer_helpdesk_bench.sh`` with ``STEPS=create`` — django-helpdesk's
  public form, its REST API with a session and with HTTP Basic — on gunicorn, as its README says.

The rate is tickets that reached the database per second (``count(*)`` before and after), not answers,
so a POST that "succeeds" without opening anything does not count. The load average is printed with
each step: on a shared machine compare the ratios of one run, never absolute rates across runs.

Run (wrk from Debian; PostgreSQL and Redis up; the peer set up once with its README's
``peer_helpdesk_setup.sh``, as root):

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/2 \\
      .venv/bin/python bench/bench_create.py [--customers 100000] [--rounds 3] [--duration 20] [--conns 4]
  # another server: {python}, {port} and {app} are filled in; --server-env sets its environment
  ... --server-cmd "{python} -m gunicorn -w 2 -b 127.0.0.1:{port} supportdesk.wsgi:application" \\
      --server-env CONN_MAX_AGE=60
  # --servers N: N daphne processes accepting on one listening socket (daphne --fd), like the
  # peer's two gunicorn workers; --skip-peer; --paths portal,api; --reuse / --keep the database
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchdb import database_url, drop_database, free_port, load_average, recreate_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("BENCH_DB", "supportdesk_bench_create")
# As docker-compose.yml runs web today (one daphne process, a deep listen backlog).
DAPHNE = "{python} -m daphne -e tcp:port={port}:interface=127.0.0.1:backlog=1024 {app}"
DAPHNE_FD = "{python} -m daphne --fd {fd} {app}"
CSRF = "benchbenchbenchbenchbenchbench12"  # a 32-character CSRF secret: cookie and form/header alike
CUSTOMER_NUMBER = "1000001"  # the demo's Karin Lindqvist, login "kund"

# One request per call; {n} in the body becomes a counter unique in this wrk run.
LUA = r"""
local counter = 0
local prefix = os.getenv("BENCH_PREFIX")
local tpl = os.getenv("BENCH_BODY")
wrk.method = os.getenv("BENCH_METHOD")
for line in os.getenv("BENCH_HEADERS"):gmatch("[^\n]+") do
  local k, v = line:match("^([^:]+):%s*(.*)$")
  wrk.headers[k] = v
end
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, (tpl:gsub("{n}", prefix .. counter)))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests":%d,"duration_us":%d,"p50_ms":%.1f,"p99_ms":%.1f,' ..
    '"non2xx3xx":%d,"socket":%d}\n', summary.requests, summary.duration, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=100_000, help="generated customers (≈ one ticket each)")
    p.add_argument("--incidents", type=int, default=100, help="active incidents in all")
    p.add_argument("--duration", type=int, default=20, help="seconds of load per step")
    p.add_argument("--conns", type=int, default=4, help="wrk connections")
    p.add_argument("--rounds", type=int, default=3, help="times each step runs, interleaved")
    p.add_argument("--paths", default="portal,staff,api", help="our steps: portal, staff, api")
    p.add_argument(
        "--server-cmd",
        default=os.environ.get("BENCH_SERVER_CMD", ""),
        help="server command ({python} {port} {app}; {fd} with --servers); default: daphne as Compose",
    )
    p.add_argument("--server-env", action="append", default=[], help="KEY=VALUE for the server (repeat)")
    p.add_argument("--servers", type=int, default=1, help="daphne processes sharing one socket (--fd)")
    p.add_argument("--no-worker", action="store_true", help="no Celery worker during the runs")
    p.add_argument("--skip-peer", action="store_true", help="do not run django-helpdesk")
    p.add_argument("--peer-bench", default=os.environ.get("PEER_BENCH", str(peer_bench_default())))
    p.add_argument("--peer-dir", default=os.environ.get("PEER_DIR", "/tmp/peer"))
    p.add_argument("--peer-tickets", type=int, default=10_000, help="tickets in the peer's database")
    p.add_argument(
        "--baseline",
        default="",
        metavar="DIR",
        help="also run our steps against the same server command started from another checkout (say "
        "main before a change: `git worktree add --detach DIR main`), on the same database, interleaved",
    )
    p.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    p.add_argument("--reuse", action="store_true", help="reuse a kept bench database (no seeding)")
    p.add_argument("--out", default="", help="append every figure as a JSON line to this file")
    p.add_argument(
        "--profile",
        default="",
        metavar="DIR",
        help="instead of the rates: pyinstrument in the server (bench/profile_settings.py), one connection "
        "per step, plus the queue page and the API list; text profiles per route into DIR",
    )
    a = p.parse_args()
    if not (1 <= a.duration <= 120 and 1 <= a.rounds <= 5 and 1 <= a.conns <= 64 and 1 <= a.servers <= 8):
        sys.exit("bounds: --duration 1..120, --rounds 1..5, --conns 1..64, --servers 1..8")
    return a


def peer_bench_default() -> Path:
    """``../shared/peer-bench`` of the main checkout, also from a worktree one level further down."""
    for up in (ROOT.parent, ROOT.parent.parent):
        if (up / "shared" / "peer-bench").is_dir():
            return up / "shared" / "peer-bench"
    return ROOT.parent / "shared" / "peer-bench"


def seed(args) -> None:
    """The demo with ``--customers`` generated customers, and active incidents up to ``--incidents``."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone

    from customers.models import Area, Customer, Service
    from incidents.models import Incident
    from incidents.services import incident_declare

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    call_command("seed_demo", customers=args.customers, verbosity=0)
    print(f"seeded the demo with {args.customers:,} generated customers in {time.perf_counter() - t0:.0f} s")
    ops = User.objects.get(username="ops")
    karin = Customer.objects.get(number=CUSTOMER_NUMBER)
    home = karin.subscriptions.get(service__code="broadband").area
    broadband = Service.objects.get(code="broadband")
    others = list(Service.objects.exclude(code__in=("broadband", "email")).order_by("code"))
    places = list(
        Area.objects.filter(kind=Area.Kind.MUNICIPALITY)
        .exclude(path__startswith=home.parent.path)
        .order_by("path")
    )
    have = Incident.objects.active().count()
    for n in range(max(0, args.incidents - have)):
        if n < 2:  # two more that explain Karin's broadband (the demo's ZyXEL known issue is a third)
            scope = {"services": [broadband], "areas": [home if n == 0 else home.parent]}
        else:
            scope = {"services": [others[n % len(others)]], "areas": [places[n % len(places)]]}
        incident_declare(
            title=f"Bench incident {n}",
            kind=Incident.Kind.OUTAGE,
            severity=2,
            equipment=[],
            public_message={"en": "We are on it."},
            started_at=timezone.now(),
            actor=ops,
            **scope,
        )
    print(f"active incidents: {Incident.objects.active().count()}")


def sessions() -> dict:
    """Session cookies of the demo customer and agent, written as a login would."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    cookies = {}
    for name in ("kund", "agent"):
        user = User.objects.get(username=name)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies[name] = f"{settings.SESSION_COOKIE_NAME}={session.session_key}; csrftoken={CSRF}"
    return cookies


def steps(cookies: dict) -> dict:
    """Our three ways in: path, headers and a body template ({n}: unique per request)."""
    from customers.models import Customer

    karin = Customer.objects.get(number=CUSTOMER_NUMBER)
    sub = karin.subscriptions.get(service__code="broadband").pk
    form = "application/x-www-form-urlencoded"
    text = "subject=Internet+is+down+{n}&description=No+light+on+the+fibre+box+since+10%3A02"
    return {
        "portal": (
            "/my/tickets/new/",
            [f"Cookie: {cookies['kund']}", f"Content-Type: {form}"],
            f"csrfmiddlewaretoken={CSRF}&form_token={{n}}&subscription={sub}&category=technical&{text}",
        ),
        "staff": (
            f"/desk/customers/{CUSTOMER_NUMBER}/tickets/",
            [f"Cookie: {cookies['agent']}", f"Content-Type: {form}"],
            f"csrfmiddlewaretoken={CSRF}&form_token={{n}}&subscription={sub}&category=technical"
            f"&channel=phone&priority=2&duplicate_ok=1&{text}",
        ),
        "api": (
            "/api/v1/tickets/",
            [f"Cookie: {cookies['agent']}", f"X-CSRFToken: {CSRF}", "Content-Type: application/json"],
            json.dumps(
                {
                    "customer": CUSTOMER_NUMBER,
                    "subject": "Internet is down {n}",
                    "description": "No light on the fibre box since 10:02",
                }
            ),
        ),
    }


def ticket_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket")
        return cursor.fetchone()[0]


def start(cmd: list[str], env: dict, root: Path = ROOT, **kwargs) -> subprocess.Popen:
    env = {**env, "PYTHONPATH": str(root)}
    return subprocess.Popen(
        cmd, cwd=root, env=env, start_new_session=True, stdout=subprocess.DEVNULL, **kwargs
    )


def start_servers(args, env: dict, root: Path = ROOT) -> tuple[list[subprocess.Popen], int]:
    port = free_port()
    fill = {"python": sys.executable, "port": str(port), "app": "supportdesk.asgi:application"}
    if args.servers == 1:
        cmd = (args.server_cmd or DAPHNE).format(**fill)
        procs = [start(shlex.split(cmd), env, root)]
    else:
        # One listening socket, N processes accepting on it (what socket activation hands daphne).
        listener = socket.create_server(("127.0.0.1", port), backlog=1024)
        fill["fd"] = str(listener.fileno())
        cmd = (args.server_cmd or DAPHNE_FD).format(**fill)
        procs = [
            start(shlex.split(cmd), env, root, pass_fds=(listener.fileno(),)) for _ in range(args.servers)
        ]
        listener.close()
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    print(f"server: {cmd}  (×{args.servers}, from {root})", flush=True)
    return procs, port


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:  # daphne waits for open keep-alive connections
            os.killpg(proc.pid, 9)
            proc.wait()


def run_wrk(
    port: int, path: str, headers: list[str], body: str, *, duration: int, conns: int, method: str = "POST"
) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_PREFIX": uuid.uuid4().hex[:12] + "-",
        "BENCH_BODY": body,
        "BENCH_HEADERS": "\n".join(headers),
    }
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--timeout", "30s", "-s", script.name,
             f"http://127.0.0.1:{port}{path}"],
            env=env, capture_output=True, text=True, timeout=duration + 60, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    return json.loads(out.split("BENCHJSON ", 1)[1].splitlines()[0])


def measure(port: int, name: str, step: tuple, args) -> dict:
    path, headers, body = step
    load = os.getloadavg()[0]
    before = ticket_count()
    figures = run_wrk(port, path, headers, body, duration=args.duration, conns=args.conns)
    created = ticket_count() - before
    seconds = figures["duration_us"] / 1e6
    row = {
        "label": name,
        "created_per_s": round(created / seconds, 1),
        "rps": round(figures["requests"] / seconds, 1),
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "errors": figures["non2xx3xx"] + figures["socket"],
        "loadavg_before": round(load, 2),
    }
    print(
        f"  {name:<7} {row['created_per_s']:7.1f} tickets/s  (answers {row['rps']:.1f}/s, p50 "
        f"{row['p50_ms']:.0f} ms, p99 {row['p99_ms']:.0f} ms, errors {row['errors']}; load {load:.2f})",
        flush=True,
    )
    return row


def run_peer(args, round_no: int) -> list[dict]:
    """django-helpdesk's creation steps through its own harness; its JSON lines, medians ("agg").
    Run from a copy: the harness writes next to itself, and its folder may be read-only."""
    workdir = Path(tempfile.mkdtemp(prefix="peer-bench-"))
    shutil.copytree(args.peer_bench, workdir, dirs_exist_ok=True)
    script = workdir / "peer_helpdesk_bench.sh"
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl", delete=False) as out:
        ours = ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "DATABASE_URL", "REDIS_URL", "BENCH_DB")
        env = {
            **{k: v for k, v in os.environ.items() if k not in ours},  # the peer's project, not ours
            "PEER_DIR": args.peer_dir,
            "PEER_PROJECT": str(Path(args.peer_dir) / "hdproj"),
            "OUT": out.name,
            "NS": str(args.peer_tickets),
            "STEPS": "create",
            "RUNS": "1",
            "DURATION": str(args.duration),
            "CONNS": str(args.conns),
            "PORT": str(free_port()),
            "SKIP_SEED": "1" if round_no > 1 else "0",
        }
        subprocess.run(["bash", str(script)], env=env, cwd=workdir, check=True,
                       stdout=subprocess.DEVNULL, timeout=3 * args.duration + 600)  # fmt: skip
        rows = [json.loads(line) for line in out if line.strip()]
    os.unlink(out.name)
    shutil.rmtree(workdir, ignore_errors=True)
    found = []
    for row in rows:
        if row.get("agg"):
            name = "peer-" + row["label"].split("_N")[0].removeprefix("create_").replace("_", "-")
            found.append({"label": name, "created_per_s": row["median_created_per_s"], "rps": row["median_rps"],
                          "p50_ms": row["median_p50_ms"], "p99_ms": row["median_p99_ms"]})  # fmt: skip
            print(
                f"  {name:<22} {row['median_created_per_s']:7.1f} tickets/s (p50 {row['median_p50_ms']:.0f} ms)"
            )
    return found


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL; the bench creates its own database.")
    if (
        not (args.skip_peer or args.profile)
        and not (Path(args.peer_dir) / "venv" / "bin" / "python").exists()
    ):
        sys.exit(
            f"the peer is not set up in {args.peer_dir}: see {args.peer_bench}/README.md, or --skip-peer"
        )
    ours = [p for p in args.paths.split(",") if p]
    os.environ["DATABASE_URL"] = (
        database_url(url, BENCH_DB) if args.reuse else recreate_database(url, BENCH_DB)
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    procs: list[subprocess.Popen] = []
    rows: list[dict] = []
    try:
        if not args.reuse:
            seed(args)
        cookies = sessions()
        our_steps = steps(cookies)
        env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "CELERY_TASK_ALWAYS_EAGER": "0"}
        env.update(kv.split("=", 1) for kv in args.server_env)
        if not args.no_worker:
            procs.append(
                start(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "supportdesk",
                        "worker",
                        "-Q",
                        "alerts,mail,default",
                        "-c",
                        "1",
                        "--loglevel",
                        "WARNING",
                    ],
                    env,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            )
        if args.profile:
            env.update(DJANGO_SETTINGS_MODULE="bench.profile_settings", BENCH_PROFILE_DIR=args.profile)
        servers, port = start_servers(args, env)
        procs += servers
        base_port = None
        if args.baseline:
            servers, base_port = start_servers(args, env, Path(args.baseline).resolve())
            procs += servers
        if args.profile:
            profile(port, our_steps, cookies, args)
            return
        for name in ours:  # warm-up, not counted: imports, caches, plans
            run_wrk(port, *our_steps[name], duration=2, conns=1)
            if base_port:
                run_wrk(base_port, *our_steps[name], duration=2, conns=1)
        print(
            f"load average {load_average()}; {args.conns} connections, {args.duration} s per step", flush=True
        )
        for round_no in range(1, args.rounds + 1):
            print(f"round {round_no}", flush=True)
            for name in ours:
                rows.append({**measure(port, name, our_steps[name], args), "round": round_no})
                if base_port:
                    rows.append(
                        {**measure(base_port, f"{name}@base", our_steps[name], args), "round": round_no}
                    )
            if not args.skip_peer:
                rows += [{**r, "round": round_no} for r in run_peer(args, round_no)]
        summarize(rows, ours, args)
    finally:
        stop(procs)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(url, BENCH_DB)


def profile(port: int, our_steps: dict, cookies: dict, args) -> None:
    """Each creation path, then the first-line queue page and the API's ticket list, one connection at
    a time (service time, not queueing), under the profiling middleware."""
    reads = {
        "queue": ("/desk/queue/", [f"Cookie: {cookies['agent']}"], ""),
        "api-list": ("/api/v1/tickets/?limit=50", [f"Cookie: {cookies['agent']}"], ""),
    }
    print(f"profiling into {args.profile}/ (load average {load_average()})", flush=True)
    for name, step in [*our_steps.items(), *reads.items()]:
        method = "GET" if name in reads else "POST"
        load = os.getloadavg()[0]
        figures = run_wrk(port, *step, duration=args.duration, conns=1, method=method)
        seconds = figures["duration_us"] / 1e6
        print(
            f"  {name:<8} {figures['requests'] / seconds:6.1f}/s, p50 {figures['p50_ms']:.0f} ms, errors "
            f"{figures['non2xx3xx'] + figures['socket']} (load {load:.2f})",
            flush=True,
        )


def summarize(rows: list[dict], ours: list[str], args) -> None:
    import statistics

    def median(label: str) -> float | None:
        values = [r["created_per_s"] for r in rows if r["label"] == label]
        return statistics.median(values) if values else None

    print(f"\nmedians of {args.rounds} rounds (tickets/s); load average now {load_average()}")
    peer = {label: median(label) for label in ("peer-public-form", "peer-api-session")}
    for name in ours:
        rate = median(name)
        line = f"  {name:<7} {rate:7.1f}"
        if base := median(f"{name}@base"):
            line += f"   (baseline {base:.1f}: ×{rate / base:.2f})"
        for label, value in peer.items():
            if value:
                line += f"   ×{rate / value:.2f} the {label}"
        print(line)
    for label, value in peer.items():
        if value:
            print(f"  {label:<17} {value:7.1f}")
    if args.out:
        with open(args.out, "a") as f:
            for row in rows:
                f.write(
                    json.dumps({**row, "server_cmd": args.server_cmd or "daphne", "servers": args.servers})
                    + "\n"
                )


if __name__ == "__main__":
    main()
