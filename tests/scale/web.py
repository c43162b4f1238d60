"""The web tier of the scale-out shape on loopback: HAProxy from Debian in front of several web
processes, each on a free port.

- HTTP is served by gunicorn's WSGI workers (``deploy/gunicorn.conf.py``), /ws/ by daphne (ASGI), as
  in docker-compose.yml's ``scale`` profile; a web process can also be a daphne that serves both.
- The balancer runs ``deploy/haproxy/haproxy.cfg`` itself, only with its ``server-template`` lines
  (Docker DNS) replaced by one ``server`` line per process here, plus a stats socket this harness
  reads (``Balancer.servers()``: each server's state and counters).

Used by tests/scale/test_web_failover.py and the benches (bench/bench_serve.py,
bench/bench_alerts_ws.py ``--balancer``). Stop everything with ``WebTier.stop()`` (or use it as a
context manager): each process runs in a session of its own and would outlive the caller otherwise.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
START_TIMEOUT = 30  # seconds for a process to answer /healthz


def haproxy_binary() -> str | None:
    """Debian's haproxy (``apt-get install haproxy``; /usr/sbin is not on every PATH)."""
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)), None
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill_group(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """``sig`` to the process's whole group (gunicorn forks workers), reap it; SIGKILL after 10 s."""
    _kill_group(proc, sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        _kill_group(proc, signal.SIGKILL)
        proc.wait()


@dataclass
class WebProcess:
    """One web process: ``kind`` "http" (gunicorn, WSGI), "ws" (daphne serving /ws/) or "asgi"
    (daphne serving both, as the single-process shape does)."""

    kind: str
    name: str
    port: int
    proc: subprocess.Popen
    env: dict = field(repr=False)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group: the machine or container it ran in died."""
        stop_process(self.proc, signal.SIGKILL)


def web_command(kind: str, port: int) -> list[str]:
    if kind == "http":
        return [
            sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG),
            "--bind", f"127.0.0.1:{port}", "supportdesk.wsgi:application",
        ]  # fmt: skip
    # Twisted's default listen backlog (50) resets handshakes when hundreds arrive at once.
    endpoint = f"tcp:port={port}:interface=127.0.0.1:backlog=1024"
    return [sys.executable, "-m", "daphne", "-v", "0", "-e", endpoint, "supportdesk.asgi:application"]


def start_web(kind: str, name: str, env: dict, port: int | None = None, log=None) -> WebProcess:
    """Start one web process (not waiting for it: see ``wait_healthy``)."""
    port = port or free_port()
    proc = subprocess.Popen(
        web_command(kind, port),
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own process group: kill() reaches gunicorn's workers
        stdout=log or subprocess.DEVNULL,
        stderr=log or None,
    )
    return WebProcess(kind=kind, name=name, port=port, proc=proc, env=env)


def wait_healthy(web: WebProcess, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not web.alive:
            raise RuntimeError(f"{web.name} ({web.kind}) exited with {web.proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{web.port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{web.name} ({web.kind}) did not answer /healthz within {timeout} s")


def haproxy_config(http: list[WebProcess], ws: list[WebProcess], stats_socket: str) -> str:
    """deploy/haproxy/haproxy.cfg with loopback servers instead of Docker's, and a stats socket."""
    text = HAPROXY_CONFIG.read_text()
    text = re.sub(r"(?ms)^resolvers docker\n.*?(?=^\S|\Z)", "", text)

    def servers(match: re.Match) -> str:
        indent, backend, options = match.group(1), match.group(2), match.group(3)
        options = re.sub(r"\s*(resolvers \S+|init-addr \S+)", "", options)
        procs = {"http": http, "ws": ws}[backend]
        return "\n".join(f"{indent}server {p.name} 127.0.0.1:{p.port} {options}" for p in procs)

    text, count = re.subn(r"(?m)^(\s+)server-template (http|ws) \S+ \S+ (.*)$", servers, text)
    if count != 2:
        raise RuntimeError("deploy/haproxy/haproxy.cfg: expected the http and ws server-template lines")
    return text.replace("global\n", f"global\n    stats socket {stats_socket} mode 600 level admin\n", 1)


class Balancer:
    """Debian's haproxy running ``haproxy_config(...)``; ``url`` is its base URL."""

    def __init__(self, http: list[WebProcess], ws: list[WebProcess], workdir: Path):
        binary = haproxy_binary()
        if binary is None:
            raise RuntimeError("haproxy is not installed (apt-get install haproxy)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stats_socket = str(workdir / "haproxy.sock")
        config = workdir / "haproxy.cfg"
        config.write_text(haproxy_config(http, ws, self.stats_socket))
        env = {**os.environ, "BALANCER_BIND": f"127.0.0.1:{self.port}", "HEALTHCHECK_HOST": "127.0.0.1"}
        check = subprocess.run(
            [binary, "-c", "-q", "-f", str(config)], env=env, capture_output=True, text=True
        )
        if check.returncode:
            raise RuntimeError(f"haproxy refused its configuration:\n{check.stdout}{check.stderr}")
        # -db: stay in the foreground (no daemon), so this Popen is HAProxy itself.
        self.proc = subprocess.Popen(
            [binary, "-db", "-f", str(config)],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def command(self, line: str) -> str:
        """One command on HAProxy's runtime API (the stats socket)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.stats_socket)
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self) -> dict[tuple[str, str], dict]:
        """``show stat`` per server: {(backend, server): row}; row["status"] is "UP", "DOWN", ...,
        "scur" the current sessions, "stot" the total, "hrsp_5xx" the 5xx answers it gave."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            (r["pxname"], r["svname"]): r
            for r in rows
            if r["svname"] not in ("FRONTEND", "BACKEND") and r["pxname"]
        }

    def status(self, backend: str, server: str) -> str:
        return self.servers()[(backend, server)]["status"]

    def wait_until(self, predicate, *, timeout: float = 30, what: str = "") -> float:
        """Polls ``predicate(self.servers())``; returns the time it became true (time.monotonic())."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate(self.servers()):
                    return time.monotonic()
            except OSError:  # the socket is not there yet
                pass
            time.sleep(0.05)
        raise AssertionError(f"balancer: not true within {timeout} s: {what or predicate}")

    def stop(self) -> None:
        stop_process(self.proc)


class WebTier:
    """``http`` gunicorn processes and ``ws`` daphne processes behind one HAProxy.

    ``env`` is the environment of the web processes (the database, Redis, ...); gunicorn's get
    ``CONN_MAX_AGE=60`` unless it says otherwise (persistent connections: safe under WSGI, where a
    thread serves request after request). ``asgi=n`` adds n daphne processes that serve HTTP too
    (put in the http backend and the ws backend), the shape without gunicorn.
    """

    def __init__(self, *, http: int = 2, ws: int = 2, asgi: int = 0, env: dict | None = None):
        self.workdir = Path(tempfile.mkdtemp(prefix="sd-webtier-"))
        self.log = open(self.workdir / "web.log", "ab")  # noqa: SIM115 - closed in stop()
        base = {**(env or os.environ), "LOG_LEVEL": "WARNING"}
        self.processes: list[WebProcess] = []
        self.balancer: Balancer | None = None
        try:
            for n in range(http):
                http_env = {"CONN_MAX_AGE": "60", **base}
                self.processes.append(start_web("http", f"http{n + 1}", http_env, log=self.log))
            for n in range(ws):
                self.processes.append(start_web("ws", f"ws{n + 1}", base, log=self.log))
            for n in range(asgi):
                self.processes.append(start_web("asgi", f"asgi{n + 1}", base, log=self.log))
            for web in self.processes:
                wait_healthy(web)
            self.balancer = Balancer(self.http, self.ws, self.workdir)
            # Serving once every server's first health check passed.
            self.balancer.wait_until(
                lambda rows: all(r["status"] == "UP" for r in rows.values()), what="every server UP"
            )
        except RuntimeError as exc:
            self.stop()
            log = (self.workdir / "web.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{exc}\n--- the web processes' log (last lines) ---\n{log}") from exc
        except BaseException:
            self.stop()
            raise

    @property
    def http(self) -> list[WebProcess]:
        return [p for p in self.processes if p.kind in ("http", "asgi")]

    @property
    def ws(self) -> list[WebProcess]:
        return [p for p in self.processes if p.kind in ("ws", "asgi")]

    @property
    def url(self) -> str:
        return self.balancer.url

    @property
    def ws_url(self) -> str:
        return self.balancer.url.replace("http://", "ws://", 1)

    def process(self, name: str) -> WebProcess:
        return next(p for p in self.processes if p.name == name)

    def restart(self, name: str) -> WebProcess:
        """Start a killed process again on its port (as an orchestrator would) and wait for it."""
        old = self.process(name)
        new = start_web(old.kind, old.name, old.env, port=old.port, log=self.log)
        self.processes[self.processes.index(old)] = new
        wait_healthy(new)
        return new

    def stop(self) -> None:
        if self.balancer is not None:
            self.balancer.stop()
        # All at once, and quick (SIGINT: gunicorn's quick shutdown, daphne's too): a graceful stop
        # is not under test here, and each would wait on its connections.
        for web in self.processes:
            _kill_group(web.proc, signal.SIGINT)
        deadline = time.monotonic() + 3
        for web in self.processes:
            try:
                web.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                stop_process(web.proc, signal.SIGKILL)
        if not self.log.closed:
            self.log.close()
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> WebTier:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
