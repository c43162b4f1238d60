"""A scratch PostgreSQL database for a benchmark, on the server DATABASE_URL names."""

from __future__ import annotations

import sys
from urllib.parse import urlparse, urlunparse


def _admin(url: str):
    import psycopg2

    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        sys.exit("DATABASE_URL must point at PostgreSQL (postgres://...)")
    conn = psycopg2.connect(
        dbname="postgres",
        user=parsed.username,
        password=parsed.password,
        host=parsed.hostname,
        port=parsed.port or 5432,
    )
    conn.autocommit = True
    return conn


def database_url(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def recreate_database(url: str, name: str) -> str:
    """Drop and create database ``name`` on the server in ``url``; return its URL."""
    conn = _admin(url)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return database_url(url, name)


def drop_database(url: str, name: str) -> None:
    conn = _admin(url)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    conn.close()


# --- the timing loop the page benchmarks share (bench_dashboard, bench_queue, bench_search) -------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in 0–1."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: absolute times mean little on a shared machine."""
    import os

    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def time_get(client, url: str, n: int, params: dict | None = None, ok=(200,)) -> tuple[list[float], int, int]:
    """GET ``url`` through Django's test client ``n`` times after one warm-up request; returns the
    times in ms, the number of queries one request makes, and the last status code."""
    import time

    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    client.get(url, params)  # warm caches and plans
    reset_queries()  # each request clears the log at its start; begin the capture from empty
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = client.get(url, params)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code in ok, response.status_code
    return times, len(queries.captured_queries), response.status_code


# --- loopback HTTP load: a free port, and wrk playing agents -------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Each wrk connection is an agent: GETs of random ``paths`` with the agent's session cookie, in
# Swedish; the summary comes back as one JSON line (latencies in µs).
_AGENTS_LUA = """
local paths = %(paths)s
local cookie = "%(cookie)s"
math.randomseed(os.time())
request = function()
  local path = paths[math.random(#paths)]
  return wrk.format("GET", path, {["Cookie"] = cookie, ["Accept-Language"] = "sv"})
end
done = function(summary, latency, requests)
  io.write(string.format("JSON{\\"requests\\":%%d,\\"non2xx\\":%%d,\\"socket\\":%%d,\\"p50\\":%%d,\\"p90\\":%%d,\\"p95\\":%%d,\\"p99\\":%%d,\\"duration_us\\":%%d}\\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99), summary.duration))
end
"""


def start_wrk_agents(
    url: str, paths: list[str], cookie: str, *, connections: int, duration: int, threads: int = 2
):
    """Start ``wrk`` in the background as ``connections`` agents reading ``paths`` for ``duration`` s;
    ``wrk_figures(proc)`` waits for it and returns what it measured."""
    import json
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            _AGENTS_LUA % {"paths": "{" + ",".join(json.dumps(p) for p in paths) + "}", "cookie": cookie}
        )
    proc = subprocess.Popen(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
         "-s", script.name, url],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    proc.script = script.name
    return proc


def wrk_figures(proc) -> dict:
    """wrk's summary: requests, non2xx, socket (errors), p50/p90/p95/p99 (µs), duration_us, plus
    ``rate`` (requests per second) and ``errors`` (non-2xx/3xx + socket)."""
    import json
    import os
    import re

    try:
        out, _ = proc.communicate()
    finally:
        os.unlink(proc.script)
    if proc.returncode:
        sys.exit(f"wrk exited with {proc.returncode}")
    figures = json.loads(re.search(r"JSON(\{.*\})", out).group(1))
    figures["rate"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["errors"] = figures["non2xx"] + figures["socket"]
    return figures


def run_wrk_agents(url: str, paths: list[str], cookie: str, *, connections: int, duration: int) -> dict:
    return wrk_figures(start_wrk_agents(url, paths, cookie, connections=connections, duration=duration))
