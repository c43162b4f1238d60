"""Helpers for alert tests: incidents declared and tickets linked through the real
``incidents.services`` (so the alerts come from their real signals), and an inbox that listens on the
Channels layer the way a browser's consumer would."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from channels.layers import get_channel_layer

from incidents.models import Incident, IncidentTicketLink
from incidents.services import incident_declare, incident_link_ticket

SCRIPT = {
    "en": "We know about the outage in your area; it is on our side.",
    "sv": "Vi känner till störningen i ditt område; felet ligger hos oss.",
    "fi": "Tiedämme alueesi häiriöstä; vika on meidän päässämme.",
}


def declare(*, actor, title: str = "Fibre outage in Stockholm", kind: str = "outage", **fields) -> Incident:
    """Declare through ``incidents.services.incident_declare``; returns the incident.

    Scope dimensions default to empty, and an empty dimension covers everything: such an incident
    links every open ticket there is (``affects_everyone`` is then set). Pass
    ``services``/``areas``/``equipment`` to narrow it.
    """
    fields.setdefault("severity", Incident.Severity.CRITICAL)
    fields.setdefault("agent_script", SCRIPT)
    fields.setdefault("public_message", {"en": "Fibre is down in Stockholm."})
    for dimension in ("services", "areas", "equipment"):
        fields.setdefault(dimension, [])
    # An empty scope is refused unless said on purpose (the service's guard).
    if not any(fields.get(k) for k in ("services", "areas", "equipment", "keywords")):
        fields.setdefault("affects_everyone", True)
    return incident_declare(title=title, kind=kind, actor=actor, **fields).incident


def link(*, incident: Incident, ticket, actor) -> IncidentTicketLink:
    """Link one ticket by hand through ``incidents.services.incident_link_ticket`` (origin "agent")."""
    return incident_link_ticket(incident=incident, ticket=ticket, actor=actor)


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


# --- a real SMTP server ----------------------------------------------------------------------------


class SmtpSink:
    """A local SMTP server (aiosmtpd) that keeps what it accepted. Recipients starting ``bounce``
    are refused for good (550), ``later`` temporarily (451); ``delay`` seconds per message. It offers
    PIPELINING unless ``pipelining`` is turned off before the client connects."""

    def __init__(self) -> None:
        import socket
        import threading

        from aiosmtpd.controller import Controller

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.messages: list = []
        self.lock = threading.Lock()
        self.delay = 0.0
        self.pipelining = True  # advertised in EHLO
        sink = self

        class Handler:
            async def handle_EHLO(self, server, session, envelope, hostname, responses):
                session.host_name = hostname
                if sink.pipelining:  # aiosmtpd reads commands in order however they arrive
                    responses.insert(-1, "250-PIPELINING")
                return responses

            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address.startswith("bounce"):
                    return "550 5.1.1 No such user"
                if address.startswith("later"):
                    return "451 4.3.0 Try again later"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                import email
                from email import policy

                if sink.delay:
                    await asyncio.sleep(sink.delay)
                msg = email.message_from_bytes(envelope.content, policy=policy.default)
                with sink.lock:
                    sink.messages.append(msg)
                return "250 OK"

        self.make = lambda: Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller = None

    def start(self) -> None:
        # A stopped controller cannot start again: a fresh one on the same port.
        self.controller = self.make()
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp(settings):
    """A running SMTP sink, and Django's SMTP backend pointed at it."""
    import logging

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
    sink = SmtpSink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = "https://desk.example"
    yield sink
    with contextlib.suppress(Exception):
        sink.stop()


def text_and_html(message) -> tuple[str, str]:
    return (
        message.get_body(preferencelist=("plain",)).get_content(),
        message.get_body(preferencelist=("html",)).get_content(),
    )
