"""How to serve the desk's HTTP (issue 10): daphne (ASGI) as today against gunicorn (WSGI) with
persistent database connections, the same mixed agent traffic, interleaved in one run.

Seeds the demo (``--customers`` generated customers) into its own database and drives each way of
serving with ``wrk`` for ``--duration`` seconds per round (after a short warm-up), ``--rounds``
rounds, the order of the variants rotated each round so that a change in the machine's load hits
them all. The traffic is bench/load_agents.py's: ``--connections`` agents' keep-alive sessions,
each request one of the agent's pages (queues, ticket pages, look-ups, searches, the API lists).

Variants (every multi-process one behind deploy/haproxy/haproxy.cfg, started by tests/scale/web.py):
  daphne         one daphne process, direct, CONN_MAX_AGE=0: what `make run`/Compose serve today
  daphne-2       two daphne processes, CONN_MAX_AGE=0 (it cannot be more under ASGI: see README)
  gthread-0      gunicorn, 2 gthread workers x 4 threads, CONN_MAX_AGE=0: the server alone
  gthread        the same with CONN_MAX_AGE=60: persistent connections, safe under WSGI
  sync           gunicorn, 2 sync workers, CONN_MAX_AGE=60

Prints per round and variant requests/s, p50/p90/p99, errors (socket errors and answers other than
2xx/3xx: must be 0), the PostgreSQL connections the bench database holds at the end of the round,
the CPU time the web processes (and HAProxy) used per request — user + system from /proc, the
figure that does not depend on the share of a shared machine they got — and the load average; then
each variant's median over the rounds and its ratios to ``daphne``.

Needs Debian's ``wrk`` and ``haproxy``, PostgreSQL and Redis:
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/4 \\
      .venv/bin/python bench/bench_serve.py [--duration 15] [--rounds 2] [--connections 8]
      [--customers 2000] [--variants daphne,daphne-2,gthread-0,gthread,sync]
The database is ``supportdesk_bench_serve`` (dropped and re-created; dropped again afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchdb import _admin, drop_database, recreate_database
from load_agents import LUA, agent_paths

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "supportdesk_bench_serve"

GTHREAD = {"WEB_CONCURRENCY": "2", "WEB_THREADS": "4"}
VARIANTS = {
    "daphne": {"label": "daphne x1, direct (today)", "asgi": 1, "direct": True, "env": {"CONN_MAX_AGE": "0"}},
    "daphne-2": {"label": "daphne x2, HAProxy", "asgi": 2, "env": {"CONN_MAX_AGE": "0"}},
    "gthread-0": {"label": "gunicorn gthread 2x4, HAProxy, CONN_MAX_AGE=0", "http": 1, "env": {**GTHREAD, "CONN_MAX_AGE": "0"}},
    "gthread": {"label": "gunicorn gthread 2x4, HAProxy, CONN_MAX_AGE=60", "http": 1, "env": {**GTHREAD, "CONN_MAX_AGE": "60"}},
    "sync": {
        "label": "gunicorn sync x2, HAProxy, CONN_MAX_AGE=60",
        "http": 1,
        "env": {"WEB_CONCURRENCY": "2", "CONN_MAX_AGE": "60", "GUNICORN_CMD_ARGS": "--worker-class sync"},
    },
}  # fmt: skip


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=15, help="seconds of measured load per round and variant")
    p.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load first")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--connections", type=int, default=8, help="concurrent agents (wrk connections)")
    p.add_argument("--customers", type=int, default=2000, help="generated demo customers")
    p.add_argument(
        "--mix",
        choices=("agent", "light"),
        default="agent",
        help="agent: load_agents.py's pages; light: /healthz and the incident API list, where the "
        "server's own cost per request (and the database connection's) is not hidden by the views'",
    )
    p.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated, from: " + ", ".join(VARIANTS)
    )
    return p.parse_args()


class Served:
    """One variant up: its web processes (and HAProxy unless direct); ``url`` is where wrk goes."""

    def __init__(self, variant: dict, env: dict):
        from tests.scale.web import WebTier, start_web, wait_healthy

        env = {**env, **variant["env"]}
        self.tier = self.direct = None
        if variant.get("direct"):
            self.direct = start_web("asgi", "asgi1", {**env, "LOG_LEVEL": "WARNING"})
            try:
                wait_healthy(self.direct)
            except BaseException:
                self.stop()
                raise
            self.url = f"http://127.0.0.1:{self.direct.port}"
        else:
            self.tier = WebTier(http=variant.get("http", 0), ws=0, asgi=variant.get("asgi", 0), env=env)
            self.url = self.tier.url

    def groups(self) -> tuple[set[int], set[int]]:
        """Process groups of the web processes (gunicorn's workers are in their master's) and of HAProxy."""
        if self.direct is not None:
            return {self.direct.proc.pid}, set()
        return {p.proc.pid for p in self.tier.processes}, {self.tier.balancer.proc.pid}

    def stop(self) -> None:
        from tests.scale.web import stop_process

        if self.tier is not None:
            self.tier.stop()
        if self.direct is not None:
            stop_process(self.direct.proc)


def wrk(url: str, script: str, connections: int, seconds: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s", "-s", script, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    figures = json.loads(re.search(r"JSON(\{.*\})", out).group(1))
    figures["rate"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["errors"] = figures["non2xx"] + figures["socket"]
    return figures


def cpu_seconds(groups: set[int]) -> float:
    """User + system CPU of every live process in these process groups (from /proc): what serving
    cost, whatever share of the shared machine the processes got."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in groups:  # pgrp; then utime and stime (fields 14 and 15 of stat(5))
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def database_connections(url: str) -> int:
    conn = _admin(url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [BENCH_DB])
        (count,) = cur.fetchone()
    conn.close()
    return count


def main() -> None:
    args = parse_args()
    names = args.variants.split(",")
    if unknown := [n for n in names if n not in VARIANTS]:
        sys.exit(f"unknown variants: {unknown}")
    from tests.scale.web import haproxy_binary

    if not shutil.which("wrk") or not haproxy_binary():
        sys.exit("wrk and haproxy are needed: apt-get install wrk haproxy")
    url = os.environ.get("DATABASE_URL", "")
    if not url or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL; the bench creates its own database.")
    os.environ["DATABASE_URL"] = recreate_database(url, BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    results: dict[str, list[dict]] = {n: [] for n in names}
    try:
        call_command("migrate", verbosity=0)
        call_command("seed_demo", customers=args.customers, verbosity=0)
        paths, cookie = agent_paths()
        if args.mix == "light":
            paths = ["/healthz", "/api/v1/incidents/"]
        connections.close_all()
        print(f"seeded the demo with {args.customers:,} generated customers; {len(paths)} URLs", flush=True)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(
                LUA % {"paths": "{" + ",".join(json.dumps(p) for p in paths) + "}", "cookie": cookie}
            )
        env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "CELERY_TASK_ALWAYS_EAGER": "1"}
        for round_ in range(args.rounds):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                served = Served(VARIANTS[name], env)
                try:
                    wrk(served.url, script.name, args.connections, args.warmup)
                    load = os.getloadavg()[0]
                    web, balancer = served.groups()
                    cpu_before = cpu_seconds(web), cpu_seconds(balancer)
                    figures = wrk(served.url, script.name, args.connections, args.duration)
                    figures["cpu_ms"] = (
                        (cpu_seconds(web) - cpu_before[0]) * 1000 / max(1, figures["requests"])
                    )
                    figures["lb_cpu_ms"] = (
                        (cpu_seconds(balancer) - cpu_before[1]) * 1000 / max(1, figures["requests"])
                    )
                    figures["db_connections"] = database_connections(url)
                    figures["load"] = load
                finally:
                    served.stop()
                results[name].append(figures)
                print(
                    f"round {round_ + 1} {VARIANTS[name]['label']:<48} {figures['rate']:6.1f} req/s  "
                    f"p50 {figures['p50'] / 1000:5.0f}  p90 {figures['p90'] / 1000:5.0f}  "
                    f"p99 {figures['p99'] / 1000:5.0f} ms  errors {figures['errors']}  "
                    f"CPU/request {figures['cpu_ms']:.1f} ms (+ HAProxy {figures['lb_cpu_ms']:.2f})  "
                    f"db conns {figures['db_connections']}  load {load:.2f}",
                    flush=True,
                )
        summary(results, args)
    finally:
        connections.close_all()
        drop_database(url, BENCH_DB)


def summary(results: dict[str, list[dict]], args) -> None:
    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    base = median("daphne", "rate") if results.get("daphne") else None
    print(
        f"\n{args.mix} mix, median of {args.rounds} rounds, {args.duration} s each, {args.connections} agents; "
        f"load average {min(r['load'] for rs in results.values() for r in rs):.2f}"
        f"-{max(r['load'] for rs in results.values() for r in rs):.2f}"
    )
    base_cpu = median("daphne", "cpu_ms") if results.get("daphne") else None
    print(
        "| variant | req/s | vs daphne x1 | CPU ms/request (web) | vs daphne x1 | HAProxy CPU ms/request "
        "| p50 ms | p90 ms | p99 ms | errors | db conns |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        ratio = f"{median(name, 'rate') / base:.2f}x" if base else "-"
        cpu_ratio = f"{median(name, 'cpu_ms') / base_cpu:.2f}x" if base_cpu else "-"
        print(
            f"| {VARIANTS[name]['label']} | {median(name, 'rate'):.1f} | {ratio} | {median(name, 'cpu_ms'):.1f} | "
            f"{cpu_ratio} | {median(name, 'lb_cpu_ms'):.2f} | {median(name, 'p50') / 1000:.0f} | "
            f"{median(name, 'p90') / 1000:.0f} | {median(name, 'p99') / 1000:.0f} | "
            f"{sum(r['errors'] for r in rows)} | {max(r['db_connections'] for r in rows)} |"
        )


if __name__ == "__main__":
    main()
