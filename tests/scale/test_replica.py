"""Reads routed to a real streaming replica (core/replica.py), proved against PostgreSQL 15 on loopback.

The replica is a hot standby of the machine's primary (tests/scale/pg.py). Two daphne processes
serve the desk with ``DATABASE_REPLICA_URL`` pointing at it: "patient" accepts an hour of lag and
measures it once, "strict" accepts one second and measures it every 0.2 s. Pausing the standby's
replay makes what it serves visibly older than the primary: a ticket opened meanwhile is on the
primary only, so whether a page lists it tells which copy answered.

The tests run in this order; the last one stops the replica for good.
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests import factories, processes
from tests.conftest import REQUIRE_SERVICES
from tests.scale import pg

pytestmark = [pytest.mark.scale, pytest.mark.postgres]


@pytest.fixture(scope="module")
def replica(django_db_setup):
    """A hot standby of the test database's server, built after the test database exists."""
    if why := pg.missing():
        (pytest.fail if REQUIRE_SERVICES else pytest.skip)(why)
    primary = connection.settings_dict
    pg.allow_replication(primary)
    standby = pg.Replica(primary)
    try:
        standby.build()
        standby.start()
        yield standby
    finally:
        standby.destroy()


@pytest.fixture(scope="module")
def web(replica) -> dict[str, str]:
    """Base URLs of the two daphne processes reading from ``replica``."""
    started = {}
    try:
        with pytest.MonkeyPatch.context() as env:  # processes.child_env passes os.environ on
            env.setenv("DATABASE_REPLICA_URL", replica.url(connection.settings_dict["NAME"]))
            for name, bound, check in (("patient", "3600", "3600"), ("strict", "1", "0.2")):
                env.setenv("REPLICA_MAX_LAG_SECONDS", bound)
                env.setenv("REPLICA_LAG_CHECK_SECONDS", check)
                started[name] = processes.start_daphne()
        yield {name: url for name, (_proc, url) in started.items()}
    finally:
        for proc, _url in started.values():
            processes.stop(proc)


def browser(user=None) -> requests.Session:
    """A browser; signed in as ``user`` (the session written as sign-in writes it) if given."""
    http = requests.Session()
    if user is not None:
        http.cookies.set(settings.SESSION_COOKIE_NAME, factories.login_session(user))
    return http


def page(http: requests.Session, url: str) -> str:
    response = http.get(url, timeout=60, allow_redirects=False)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response.text


def take(http: requests.Session, base: str, ticket) -> None:
    """Press "Take it" on the ticket's page, as a browser without JS would (CSRF cookie and field)."""
    page(http, f"{base}/desk/tickets/{ticket.reference}/")
    token = http.cookies[settings.CSRF_COOKIE_NAME]
    response = http.post(
        f"{base}/desk/tickets/{ticket.reference}/claim/",
        data={"csrfmiddlewaretoken": token},
        timeout=60,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.status_code


def eventually(predicate, *, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"not true within {timeout} s")


@pytest.fixture
def paused(replica):
    """The standby, caught up and then frozen: it receives the primary's WAL but replays none."""
    replica.catch_up()
    replica.pause_replay()
    yield replica
    replica.resume_replay()


def test_queues_and_status_page_read_the_replica_and_a_writer_reads_its_own_write(
    transactional_db, web, paused, agent, tech, ops
):
    token = uuid.uuid4().hex[:8]
    base = web["patient"]
    # A ticket the standby has (opened before the pause would not do: the fixture froze it already).
    paused.resume_replay()
    replayed = factories.open_ticket(subject=f"Replayed {token}")
    paused.catch_up()
    paused.pause_replay()
    unreplayed = factories.open_ticket(subject=f"Only on the primary {token}")
    outage = factories.declare_incident(actor=ops, title=f"Outage only on the primary {token}").incident

    anna, tomas = browser(agent), browser(tech)
    queue = page(anna, f"{base}/desk/queue/")
    assert replayed.subject in queue  # the page lists tickets...
    assert unreplayed.subject not in queue  # ...as the replica has them
    assert outage.title not in page(browser(), f"{base}/status/")  # anonymous visitors too

    # Anna takes the unreplayed ticket: a write, on the primary. Her next reads come from there.
    take(anna, base, unreplayed)
    assert unreplayed.subject in page(anna, f"{base}/desk/queue/?mine=1")
    assert unreplayed.subject in page(anna, f"{base}/desk/queue/")
    # Tomas wrote nothing: he still reads the replica, which has replayed neither the ticket nor her
    # write (his second-line queue and the dashboard's board read it too, and answer).
    assert unreplayed.subject not in page(tomas, f"{base}/desk/queue/")
    page(tomas, f"{base}/desk/escalations/")
    page(tomas, f"{base}/ops/dashboard/board/")

    paused.resume_replay()
    paused.catch_up()
    # Replayed: now the replica has it too.
    eventually(lambda: unreplayed.subject in page(tomas, f"{base}/desk/queue/"))
    assert outage.title in page(browser(), f"{base}/status/")


def test_past_the_lag_bound_reads_fall_back_to_the_primary(transactional_db, web, paused, ops):
    token = uuid.uuid4().hex[:8]
    unreplayed = factories.open_ticket(subject=f"Only on the primary {token}")
    olga = browser(ops)

    # Within an hour's bound the replica still answers, without the new ticket...
    assert unreplayed.subject not in page(olga, f"{web['patient']}/desk/queue/")
    assert 'data-replica="in-use"' in page(olga, f"{web['patient']}/ops/dashboard/")
    # ...while the strict process sees the standby fall more than 1 s behind and reads the primary.
    eventually(lambda: unreplayed.subject in page(olga, f"{web['strict']}/desk/queue/"))
    board = page(olga, f"{web['strict']}/ops/dashboard/")
    assert 'data-replica="behind"' in board
    assert "over the 1 s limit" in board


def test_with_the_replica_stopped_pages_answer_from_the_primary(transactional_db, web, replica, ops):
    token = uuid.uuid4().hex[:8]
    replica.catch_up()
    replica.stop()
    fresh = factories.open_ticket(subject=f"After the replica stopped {token}")
    olga = browser(ops)

    # "patient" measured the lag once, long ago, and still trusts the replica: its view fails on the
    # replica's connection and runs again on the primary. "strict" finds it down at its next check.
    for base in (web["patient"], web["strict"]):
        assert fresh.subject in page(olga, f"{base}/desk/queue/")
        page(olga, f"{base}/desk/escalations/")
        page(browser(), f"{base}/status/")
        assert 'data-replica="unreachable"' in page(olga, f"{base}/ops/dashboard/")
