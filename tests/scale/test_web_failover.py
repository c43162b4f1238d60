"""A web process dies under load: the balancer routes around it, and no agent misses an alert.

The scale-out shape's web tier on loopback (tests/scale/web.py): Debian's HAProxy running
deploy/haproxy/haproxy.cfg in front of two gunicorn processes (HTTP) and two daphne processes
(websockets), a live Celery worker, PostgreSQL and Redis. An agent holds the alert socket through
the balancer while three keep-alive clients load the desk's pages; then the daphne process holding
the socket and one gunicorn process are SIGKILLed at once (the host they ran on died), and an
incident is declared while they are down.
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import threading
import time
import uuid

import pytest
from django.conf import settings

from notifications import services
from notifications.models import Alert
from tests import processes
from tests.factories import login_session
from tests.notifications.conftest import declare
from tests.scale.web import WebTier

pytestmark = [
    pytest.mark.scale,
    pytest.mark.haproxy,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
]

PAGES = ["/desk/queue/", "/desk/escalations/", "/api/v1/tickets/?limit=50", "/api/v1/incidents/"]


class KeepAlive:
    """One HTTP/1.1 connection to the balancer, reused for every request (as a browser tab's)."""

    def __init__(self, port: int, session_key: str):
        self.port = port
        self.headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}", "Accept-Language": "sv"}
        self.conn: http.client.HTTPConnection | None = None
        self.connections = 0  # TCP connections opened: 1 means every request rode the same one

    def get(self, path: str) -> int:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            self.connections += 1
        try:
            self.conn.request("GET", path, headers=self.headers)
            response = self.conn.getresponse()
            response.read()
        except Exception:
            self.close()
            raise
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


class HttpLoad:
    """``clients`` threads, each an agent's keep-alive connection GETting the desk's pages back to
    back. ``results`` holds (started, finished, status or the exception's name) per request."""

    def __init__(self, port: int, session_key: str, clients: int = 3):
        self.port, self.session_key, self.clients = port, session_key, clients
        self.results: list[tuple[float, float, int | str]] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(clients)]

    def start(self) -> HttpLoad:
        for t in self.threads:
            t.start()
        return self

    def run(self, n: int) -> None:
        client = KeepAlive(self.port, self.session_key)
        pages = itertools.cycle(PAGES[n % len(PAGES) :] + PAGES[: n % len(PAGES)])
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                outcome: int | str = client.get(next(pages))
            except Exception as exc:
                outcome = type(exc).__name__
                time.sleep(0.05)
            self.results.append((started, time.monotonic(), outcome))
        client.close()

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(30)

    def answered(self, since: float = 0.0) -> list[int | str]:
        return [outcome for started, _, outcome in list(self.results) if started >= since]


class AgentSocket:
    """The agent's alert socket, behaving like static/js/alerts.js: on (re)connect a hello with the
    last alert id seen, then alerts (pushed or caught up), deduped by id by the reader; reconnects
    with a short backoff when the socket dies."""

    def __init__(self, url: str, origin: str, session_key: str):
        self.url, self.origin = url, origin
        self.cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}"
        self.last_id: int | None = None
        self.frames: list[dict] = []  # every alert frame, duplicates included
        self.connects = 0
        self.caught_up = threading.Event()
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self) -> AgentSocket:
        self.thread.start()
        return self

    def run(self) -> None:
        from websockets.sync.client import connect

        while not self.stopping.is_set():
            try:
                with connect(
                    self.url, origin=self.origin, additional_headers={"Cookie": self.cookie}, open_timeout=10
                ) as ws:
                    self.connects += 1
                    self.caught_up.clear()
                    ws.send(json.dumps({"type": "hello", "last_id": self.last_id, "lang": "en"}))
                    while not self.stopping.is_set():
                        try:
                            message = json.loads(ws.recv(timeout=0.2))
                        except TimeoutError:
                            continue
                        if message["type"] == "alert":
                            self.frames.append(message["alert"])
                            self.last_id = max(self.last_id or 0, message["alert"]["id"])
                        elif message["type"] == "caught-up":
                            self.last_id = max(self.last_id or 0, message["last_id"])
                            self.caught_up.set()
            except Exception as exc:
                self.errors.append(type(exc).__name__)
            if not self.stopping.is_set():
                time.sleep(0.2 + random.random() * 0.3)

    def alert_ids(self, title_part: str) -> list[int]:
        return [
            a["id"] for a in list(self.frames) if title_part in (a.get("incident") or {}).get("title", "")
        ]

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)


def wait_for(predicate, *, timeout: float = 30, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout} s: {what or predicate}")


def served(tier: WebTier) -> dict[str, int]:
    """Requests each HTTP server has been sent by the balancer so far."""
    rows = tier.balancer.servers()
    return {p.name: int(rows[("http", p.name)]["stot"]) for p in tier.http}


@pytest.fixture(scope="module")
def web_tier(django_db_setup, django_db_blocker):
    """One tier for the module (starting it is most of a test's time); a test that kills a process
    starts it again before it ends, so the next one finds every server UP."""
    with django_db_blocker.unblock():
        env = processes.child_env(DEBUG="0")
    with WebTier(http=2, ws=2, env=env) as started:
        yield started


@pytest.fixture
def tier(web_tier, transactional_db):
    web_tier.balancer.wait_until(
        lambda rows: all(r["status"] == "UP" for r in rows.values()), what="every server UP"
    )
    return web_tier


def test_one_keep_alive_connection_is_spread_over_every_http_process(tier, agent):
    client = KeepAlive(tier.balancer.port, login_session(agent))
    before = served(tier)
    statuses = [client.get("/desk/queue/") for _ in range(12)]
    after = served(tier)
    client.close()

    assert statuses == [200] * 12
    assert client.connections == 1  # one TCP connection from the client's side ...
    assert all(after[name] - before[name] >= 3 for name in before), (before, after)  # ... both served it


def test_a_web_process_killed_under_load_is_routed_around_and_no_alert_is_lost(tier, live_worker, agent, ops):
    token = uuid.uuid4().hex[:8]
    session_key = login_session(agent)
    balancer = tier.balancer
    sock = AgentSocket(f"{tier.ws_url}/ws/alerts/", tier.url, session_key).start()
    load = HttpLoad(balancer.port, session_key)
    try:
        assert sock.caught_up.wait(20), sock.errors
        # The daphne process that holds the agent's socket (the balancer's current sessions).
        balancer.wait_until(lambda rows: any(int(rows[("ws", p.name)]["scur"]) for p in tier.ws))
        rows = balancer.servers()
        holder = next(p for p in tier.ws if int(rows[("ws", p.name)]["scur"]))
        load.start()
        wait_for(lambda: load.answered().count(200) >= 20, what="load running")

        # The host of one daphne (the agent's) and one gunicorn dies.
        victims = [holder, tier.process("http1")]
        for web in victims:
            web.kill()
        incident = declare(actor=ops, title=f"Outage while a web process is down {token}")
        window_end = balancer.wait_until(
            lambda rows: all(rows[(v.kind, v.name)]["status"] == "DOWN" for v in victims),
            what="the killed processes marked DOWN",
        )
        served_at_window_end = served(tier)

        # The agent's socket comes back through the balancer, on the surviving daphne, and gets it.
        wait_for(lambda: sock.alert_ids(token), what="the alert reached the agent")
        wait_for(lambda: len(load.answered(since=window_end)) >= 60, what="load after the window")
        time.sleep(0.5)  # a late duplicate frame would show here
    finally:
        load.stop()
        sock.stop()

    alert = Alert.objects.get(incident=incident, kind="incident-declared")
    # Exactly one alert row for the agent, and the socket showed exactly that one (deduped by id,
    # as the browser does; a push racing the catch-up may send its frame twice).
    assert Alert.objects.filter(services.visible_alerts(agent), incident=incident).count() == 1
    assert set(sock.alert_ids(token)) == {alert.pk}
    assert sock.connects >= 2, "the socket never dropped: the kill did not hit it, nothing was tested"

    after_window = load.answered(since=window_end)
    errors_during = [o for o in load.answered() if o != 200 and o not in after_window]
    print(f"errors before the balancer marked the processes down: {len(errors_during)} {errors_during[:5]}")
    assert [o for o in after_window if o != 200] == []
    # The survivor carried the load after the window; the dead one got nothing more.
    after = served(tier)
    assert after["http2"] - served_at_window_end["http2"] >= 50
    assert after["http1"] == served_at_window_end["http1"]

    # Started again (as an orchestrator would), both are back in the pool once their checks pass.
    for web in victims:
        tier.restart(web.name)
    tier.balancer.wait_until(
        lambda rows: all(rows[(v.kind, v.name)]["status"] == "UP" for v in victims), what="back UP"
    )
