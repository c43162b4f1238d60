"""A live Celery worker SIGKILLed in the middle of a poll (issue 13, "nothing lost"): some messages
have committed, none is flagged on the server yet. After a restart every message is imported exactly
once — the committed ones are recognised by their key and only flagged, the rest imported."""

from __future__ import annotations

import signal
import time
from email.message import EmailMessage

import pytest

from supportdesk.celery import app
from tests import factories, processes
from tickets import tasks
from tickets.models import InboundMessage, Ticket

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker, pytest.mark.imap]

N = 150
KEYWORD = "SupportdeskImported"


def wait_for(predicate, *, timeout: float = 60, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(every)
    raise AssertionError(f"not true within {timeout} s")


def message(n: int, sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@supportdesk.example"
    msg["Subject"] = f"Ärende nummer {n}"
    if n % 2:  # half without a Message-ID: keyed by a hash of their bytes
        msg["Message-ID"] = f"<kill.{n}@mail.example.com>"
    msg.set_content(f"Meddelande {n}: routern blinkar.")
    return msg.as_bytes()


@pytest.fixture
def real_celery(transactional_db, settings):
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.control.purge()
    yield
    app.control.purge()


def test_a_worker_killed_mid_poll_loses_and_doubles_nothing(real_celery, imap_server, monkeypatch):
    customer = factories.CustomerFactory()
    inbox = imap_server.mailbox()
    inbox.append(*(message(n, customer.email) for n in range(N)))
    # The worker reads these from its environment. One batch: nothing is flagged on the server until
    # every message of it has committed, so the kill lands between commit and flag for all of them.
    monkeypatch.setenv("INTAKE_IMAP_URL", inbox.url)
    monkeypatch.setenv("INTAKE_BATCH", str(N))

    worker = processes.start_worker("intake-kill")
    try:
        tasks.poll_mailboxes.delay()
        wait_for(lambda: InboundMessage.objects.count() >= 10)
    finally:
        processes.stop(worker, signal.SIGKILL)

    committed = InboundMessage.objects.count()
    assert 10 <= committed < N, "the kill should land mid-poll"
    assert Ticket.objects.count() == committed  # no half import: each row has its ticket
    assert not any(KEYWORD in flags for flags in inbox.flags())

    worker = processes.start_worker("intake-restart")
    try:
        # disable_sync_subtasks: this is the test process, not a task (an in-process tracer test may
        # have left Celery's "inside a worker" flag set).
        tasks.poll_mailboxes.delay().get(timeout=180, disable_sync_subtasks=False)
    finally:
        processes.stop(worker)

    assert InboundMessage.objects.count() == N
    assert Ticket.objects.count() == N
    subjects = sorted(Ticket.objects.values_list("subject", flat=True))
    assert subjects == sorted(f"Ärende nummer {n}" for n in range(N))
    assert all(KEYWORD in flags for flags in inbox.flags())
