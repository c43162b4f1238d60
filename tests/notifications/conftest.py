"""Helpers for alert tests: incidents announced through the incidents app's signals, and an inbox
that listens on the Channels layer the way a browser's consumer would."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer
from django.db import transaction

from incidents import signals
from incidents.models import Incident, IncidentTicketLink

SCRIPT = {
    "en": "We know about the outage in your area; it is on our side.",
    "sv": "Vi känner till störningen i ditt område; felet ligger hos oss.",
    "fi": "Tiedämme alueesi häiriöstä; vika on meidän päässämme.",
}


def _incident_services():
    try:
        from incidents import services
    except ImportError:
        return None
    return services if hasattr(services, "incident_declare") else None


def declare(*, actor, title: str = "Fibre outage in Stockholm", kind: str = "outage", **fields) -> Incident:
    """Declare an incident the way incidents.services will: row and signal in one transaction."""
    with transaction.atomic():
        incident = Incident.objects.create(
            title=title,
            kind=kind,
            severity=fields.pop("severity", Incident.Severity.CRITICAL),
            agent_script=fields.pop("agent_script", SCRIPT),
            public_message=fields.pop("public_message", {"en": "Fibre is down in Stockholm."}),
            created_by=actor,
            **fields,
        )
        signals.incident_declared.send(sender=Incident, incident=incident, actor=actor, linked_count=0)
    return incident


def link(*, incident: Incident, tickets, actor=None, origin: str = "auto") -> None:
    with transaction.atomic():
        IncidentTicketLink.objects.bulk_create(
            [IncidentTicketLink(incident=incident, ticket=t, origin=origin) for t in tickets],
            ignore_conflicts=True,
        )
        signals.incident_linked.send(
            sender=Incident, incident=incident, ticket_ids=[t.pk for t in tickets], origin=origin, actor=actor
        )


class Inbox:
    """A channel in the layer, added to groups like a consumer; ``drain()`` returns what arrived.

    It keeps one event loop of its own: channels_redis binds a channel's receive buffer to the loop
    that first read it.
    """

    def __init__(self, *groups: str):
        self.layer = get_channel_layer()
        self.loop = asyncio.new_event_loop()
        self.channel = self.loop.run_until_complete(self.layer.new_channel())
        for group in groups:
            self.loop.run_until_complete(self.layer.group_add(group, self.channel))

    def drain(self, *, timeout: float = 0.5, until: int | None = None) -> list[dict]:
        """Messages until ``timeout`` passes without one (or ``until`` messages arrived)."""

        async def run() -> list[dict]:
            got: list[dict] = []
            while until is None or len(got) < until:
                try:
                    got.append(await asyncio.wait_for(self.layer.receive(self.channel), timeout))
                except asyncio.TimeoutError:
                    break
            return got

        return self.loop.run_until_complete(run())

    def close(self) -> None:
        self.loop.close()


@pytest.fixture
def staff_inbox():
    inbox = Inbox("alerts.staff")
    yield inbox
    inbox.close()


@pytest.fixture(autouse=True)
def _role_groups(request):
    """Transactional tests flush the tables, role groups (made by a data migration) included."""
    if "transactional_db" not in request.fixturenames and not any(
        m.kwargs.get("transaction") for m in request.node.iter_markers("django_db")
    ):
        return
    request.getfixturevalue("transactional_db")
    from django.contrib.auth.models import Group

    from core import roles

    for name in roles.ALL_ROLES:
        Group.objects.get_or_create(name=name)


def collect_in_background(inbox: Inbox):
    """Start draining ``inbox`` in a thread (a channel holds at most ``capacity`` messages).
    Returns ``finish()``, which stops once the inbox has been quiet and returns everything."""
    import threading

    got: list[dict] = []
    stop = threading.Event()

    def run() -> None:
        while True:
            chunk = inbox.drain(timeout=0.5)
            got.extend(chunk)
            if stop.is_set() and not chunk:
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def finish() -> list[dict]:
        stop.set()
        thread.join(30)
        return got

    return finish


def start_worker():
    """Another real worker on the test database, like the ``live_worker`` fixture's (for restarts)."""
    import os
    import subprocess
    import sys
    import time

    from django.conf import settings
    from django.db import connection

    from supportdesk.celery import app
    from tests.conftest import ROOT

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    name = f"test-restart-{os.getpid()}-{time.monotonic_ns()}@%h"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "supportdesk", "worker", "-l", "WARNING", "-c", "2"]
        + ["-P", "prefork", "--without-gossip", "--without-mingle", "-n", name],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return proc
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited with {proc.returncode}")
    pytest.fail("restarted celery worker did not answer a ping within 30 s")


def stop_worker(proc, sig=None) -> None:
    import os
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, sig or signal.SIGTERM)
        proc.wait(15)
