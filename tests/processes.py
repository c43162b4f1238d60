"""The real processes some tests run beside pytest: a Celery worker and daphne, on the test database.

One way to start and stop each, used by the ``live_worker`` and ``asgi_server`` fixtures in
tests/conftest.py and by tests that restart a worker mid-test (tests/notifications/test_faults.py).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30  # seconds for a process to answer before the test fails


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment, pointed at the test database and Redis, tasks not eager."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        if settings.USING_POSTGRES
        else f"sqlite:///{db['NAME']}"
    )
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        **extra,
    }


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to the process's whole group (workers fork children) and reap it; SIGKILL after 10 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def start_worker(name: str = "test", queues: list[str] | None = None) -> subprocess.Popen:
    """A ``celery worker`` (prefork, 2 processes) on the test database; returns once it answers a ping.
    It consumes every queue (``alerts``, ``mail``, ``default``: settings.CELERY_TASK_QUEUES) unless
    ``queues`` names some, as the per-queue workers of a deployment do."""
    from supportdesk.celery import app

    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "supportdesk", "worker", "-l", "WARNING", "-c", "2"]
        + ["-P", "prefork", "--without-gossip", "--without-mingle"]
        + (["-Q", ",".join(queues)] if queues else [])
        + ["-n", f"{name}-{os.getpid()}-{time.monotonic_ns()}@%h"],
        cwd=ROOT,
        env=child_env(HEARTBEAT_INTERVAL="1"),
        start_new_session=True,  # its own process group, so stop() reaches the pool's children
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return proc
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited with {proc.returncode}")
    stop(proc, signal.SIGKILL)
    pytest.fail(f"celery worker did not answer a ping within {START_TIMEOUT} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daphne(**extra_env: str) -> tuple[subprocess.Popen, str]:
    """daphne serving supportdesk.asgi on a free loopback port; returns it and its base URL once it
    accepts connections. ``extra_env`` adds to its environment (another settings module, say)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "supportdesk.asgi:application"],
        cwd=ROOT,
        # DEBUG: static files through ServeStatic's finders, no collectstatic needed.
        env=child_env(DEBUG="1", **extra_env),
        start_new_session=True,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"daphne exited with {proc.returncode}")
            time.sleep(0.1)
    stop(proc, signal.SIGKILL)
    pytest.fail(f"daphne did not listen within {START_TIMEOUT} s")
