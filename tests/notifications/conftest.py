"""Helpers for alert tests: incidents announced through the incidents app's signals, and an inbox
that listens on the Channels layer the way a browser's consumer would."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
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
    """A channel in the layer, added to groups like a consumer; ``drain()`` returns what arrived."""

    def __init__(self, *groups: str):
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        for group in groups:
            async_to_sync(self.layer.group_add)(group, self.channel)

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

        return async_to_sync(run)()


@pytest.fixture
def staff_inbox():
    return Inbox("alerts.staff")


@pytest.fixture(autouse=True)
def _role_groups(request):
    """Transactional tests flush the tables, role groups (made by a data migration) included."""
    if "transactional_db" not in request.fixturenames and not any(
        m.kwargs.get("transaction") for m in request.node.iter_markers("django_db")
    ):
        return
    request.getfixturevalue("transactional_db")
    from django.contrib.auth.models import Group

    from supportdesk import roles

    for name in roles.ALL_ROLES:
        Group.objects.get_or_create(name=name)
