"""Closing the loop on a real worker: two runs at once, a worker killed half-way, the sweep — and
still exactly one resolution reply per ticket."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from incidents.models import Incident, IncidentTicketLink
from incidents.services import incident_close_linked_tickets, incident_resolve
from incidents.tasks import close_the_loop, sweep_unclosed_resolutions
from tests import factories, processes
from tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

TICKETS = 6000  # six chunks: enough for the kill to land between the first and the last


def wait_for(predicate, *, timeout: float = 60, every: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(every)
    raise AssertionError(f"not true within {timeout} s: {predicate}")


def many_linked_tickets(ops, count: int) -> Incident:
    """``count`` open e-mail tickets of customers in three languages, linked by declaring (set-based)."""
    email = factories.ServiceFactory(code="email")
    customers = [factories.CustomerFactory(language=lang) for lang in ("sv", "fi", "en")]
    now = timezone.now()
    Ticket.objects.bulk_create(
        [
            Ticket(
                customer=customers[n % 3],
                channel=Ticket.Channel.WEB,
                service=email,
                subject=f"Mail down {n}",
                description="No mail",
                status=Ticket.Status.OPEN,
                created_at=now,
                updated_at=now,
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
    result = factories.declare_incident(actor=ops, services=[email])
    assert result.linked_count == count
    return result.incident


def replies_per_ticket(incident: Incident) -> dict[int, int]:
    rows = (
        TicketEvent.objects.filter(
            kind=TicketEvent.Kind.REPLY, data__incident=incident.pk, data__resolution=True
        )
        .values("ticket_id")
        .annotate(n=Count("id"))
        .values_list("ticket_id", "n")
    )
    return dict(rows)


def replied_links(incident: Incident) -> int:
    return IncidentTicketLink.objects.filter(incident=incident, resolution_replied_at__isnull=False).count()


def test_two_runs_a_killed_worker_and_the_sweep_give_each_ticket_exactly_one_reply(live_worker, ops):
    incident = many_linked_tickets(ops, TICKETS)
    incident_resolve(incident=incident, actor=ops, message={"sv": "Fixat", "fi": "Korjattu", "en": "Fixed"})
    close_the_loop.delay(incident.pk)  # a second run, concurrent with the one enqueued on commit

    # Kill the worker's whole process group once the first chunk has committed, before the last.
    wait_for(lambda: replied_links(incident) > 0, every=0.005)
    processes.stop(live_worker, signal.SIGKILL)
    at_kill = replied_links(incident)
    assert 0 < at_kill < TICKETS, "the worker finished before it was killed: nothing was tested"

    replacement = processes.start_worker("test-restart")
    try:
        # As if the sweep's grace period had passed; the periodic sweep finds the unfinished resolution.
        Incident.objects.filter(pk=incident.pk).update(resolved_at=timezone.now() - timedelta(minutes=2))
        sweep_unclosed_resolutions.delay()
        wait_for(lambda: replied_links(incident) == TICKETS)
        close_the_loop.delay(incident.pk)  # and once more, for good measure
        time.sleep(1)
    finally:
        processes.stop(replacement)

    counts = replies_per_ticket(incident)
    assert len(counts) == TICKETS
    assert set(counts.values()) == {1}
    assert Ticket.objects.filter(status=Ticket.Status.RESOLVED).count() == TICKETS
    statuses = TicketEvent.objects.filter(kind=TicketEvent.Kind.STATUS, data__incident=incident.pk)
    assert statuses.count() == TICKETS
    languages = set(
        TicketEvent.objects.filter(kind=TicketEvent.Kind.REPLY, data__resolution=True).values_list(
            "body", flat=True
        )
    )
    assert languages == {"Fixat", "Korjattu", "Fixed"}
    assert incident_close_linked_tickets(incident_id=incident.pk).replied == 0
