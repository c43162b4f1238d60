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
