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
