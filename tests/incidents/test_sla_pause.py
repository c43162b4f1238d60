"""SLA paused while a ticket waits on an active incident: the delay is ours, not the agent's.

The breach sweep skips a ticket attached to an active incident; when the incident ends (resolved,
withdrawn) or the ticket is detached, its due time moves later by the time it was paused, in one
UPDATE; overlapping incidents are counted once. Agents see "SLA paused — waiting on incident …" on
the ticket page and in the queue.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, IncidentTicketLink
from incidents.services import (
    incident_change_scope,
    incident_detach_ticket,
    incident_reopen,
    incident_resolve,
    incident_withdraw,
)
from tests.factories import declare_incident
from tickets.models import Ticket
from tickets.services import ticket_comment, tickets_flag_sla_breaches

pytestmark = pytest.mark.postgres


@pytest.fixture
def customer_writes():
    """The ticket's customer writes to it (now)."""

    def write(ticket) -> None:
        ticket_comment(ticket=ticket, actor=ticket.customer.user, body="Still broken here.", public=True)

    return write


def linked_hours_ago(ticket, incident, hours: float) -> None:
    """Pretend the link was made ``hours`` ago."""
    IncidentTicketLink.objects.filter(ticket=ticket, incident=incident).update(
        created_at=timezone.now() - timedelta(hours=hours)
    )


def due(ticket) -> timezone.datetime:
    return Ticket.objects.get(pk=ticket.pk).sla_due_at


def set_due(ticket, when) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=when)


def shifted_by(before, ticket) -> timedelta:
    return due(ticket) - before


def close_to(delta: timedelta, expected: timedelta) -> bool:
    return abs(delta - expected) < timedelta(seconds=30)


def test_the_breach_sweep_skips_tickets_waiting_on_an_active_incident(catalogue, ticket_in, ops):
    waiting = ticket_in(service=catalogue.email)
    alone = ticket_in(service=catalogue.iptv)
    declare_incident(actor=ops, services=[catalogue.email])
    past = timezone.now() - timedelta(minutes=5)
    Ticket.objects.filter(pk__in=[waiting.pk, alone.pk]).update(sla_due_at=past)

    assert tickets_flag_sla_breaches() == 1
    assert set(Ticket.objects.filter(sla_breached=True)) == {alone}


def test_a_known_issue_does_not_pause_the_sla(catalogue, ticket_in, ops):
    # A known defect comes with a workaround the agent can give: the ticket does not wait on us.
    ticket = ticket_in(equipment=catalogue.zyxel)
    declare_incident(actor=ops, kind="known-issue", equipment=[catalogue.zyxel])
    set_due(ticket, timezone.now() - timedelta(minutes=5))
    assert tickets_flag_sla_breaches() == 1


def keep_open(*tickets) -> None:
    """Marked so an incident's resolution replies but leaves them open (their SLA still matters)."""
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(keep_open=True)


def test_resolving_moves_the_due_time_by_the_time_linked_in_one_update(catalogue, ticket_in, ops):
    first, second = ticket_in(service=catalogue.email), ticket_in(service=catalogue.email)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    keep_open(first, second)
    linked_hours_ago(first, incident, 3)
    linked_hours_ago(second, incident, 1)
    before = {t.pk: due(t) for t in (first, second)}

    with CaptureQueriesContext(connection) as captured:
        incident_resolve(incident=Incident.objects.get(pk=incident.pk), actor=ops)
    ticket_updates = [
        q["sql"]
        for q in captured
        if re.match(r'\s*UPDATE "?tickets_ticket"?( t)? SET "?sla_due_at', q["sql"])
    ]

    assert len(ticket_updates) == 1  # set-based: one UPDATE whatever the number of tickets
    # (close the loop resolved them afterwards; the shift happened while they were open)
    assert close_to(shifted_by(before[first.pk], first), timedelta(hours=3))
    assert close_to(shifted_by(before[second.pk], second), timedelta(hours=1))


def test_resolving_leaves_alone_the_due_time_of_tickets_the_resolution_closes(
    catalogue, ticket_in, ops, customer_writes
):
    closed, kept, wrote = (ticket_in(service=catalogue.email) for _ in range(3))
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    keep_open(kept)
    for ticket in (closed, kept, wrote):
        linked_hours_ago(ticket, incident, 2)
    customer_writes(wrote)
    before = {t.pk: due(t) for t in (closed, kept, wrote)}

    incident_resolve(incident=Incident.objects.get(pk=incident.pk), actor=ops)

    assert due(closed) == before[closed.pk]  # close-the-loop resolves it: its SLA no longer matters
    assert close_to(shifted_by(before[kept.pk], kept), timedelta(hours=2))
    assert close_to(shifted_by(before[wrote.pk], wrote), timedelta(hours=2))


def test_a_ticket_breached_after_the_pause_only_when_its_shifted_due_time_passes(catalogue, ticket_in, ops):
    ticket = ticket_in(service=catalogue.email)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    linked_hours_ago(ticket, incident, 2)
    # Due one hour ago: it fell due while waiting on the incident.
    set_due(ticket, timezone.now() - timedelta(hours=1))
    assert tickets_flag_sla_breaches() == 0
    incident_detach_ticket(incident=incident, ticket=ticket, actor=ops, reason="another fault")

    # Two hours paused: now due in an hour, so not breached.
    assert close_to(due(ticket) - timezone.now(), timedelta(hours=1))
    assert tickets_flag_sla_breaches() == 0


def test_withdrawing_and_narrowing_the_scope_resume_the_clock_too(catalogue, ticket_in, ops):
    mail = ticket_in(service=catalogue.email)
    tv = ticket_in(service=catalogue.iptv)
    incident = declare_incident(actor=ops, services=[catalogue.email, catalogue.iptv]).incident
    linked_hours_ago(mail, incident, 2)
    linked_hours_ago(tv, incident, 4)
    before_tv, before_mail = due(tv), due(mail)

    incident_change_scope(incident=incident, actor=ops, services=[catalogue.email])
    assert close_to(shifted_by(before_tv, tv), timedelta(hours=4))
    assert due(mail) == before_mail  # still waiting

    incident_withdraw(incident=incident, actor=ops, reason="Declared by mistake")
    assert close_to(shifted_by(before_mail, mail), timedelta(hours=2))


def test_overlapping_incidents_count_the_paused_time_once(catalogue, ticket_in, ops):
    ticket = ticket_in(service=catalogue.email, area=catalogue.solna)
    keep_open(ticket)
    by_service = declare_incident(actor=ops, title="Mail", services=[catalogue.email]).incident
    by_area = declare_incident(actor=ops, title="Solna", areas=[catalogue.solna]).incident
    linked_hours_ago(ticket, by_service, 3)  # paused 3 h ago ...
    linked_hours_ago(ticket, by_area, 2)  # ... and by a second incident since 2 h ago
    before = due(ticket)

    incident_resolve(incident=Incident.objects.get(pk=by_service.pk), actor=ops)
    # Still waiting on the area incident, which covers the last 2 h: only the first hour counts now.
    assert close_to(shifted_by(before, ticket), timedelta(hours=1))
    assert tickets_flag_sla_breaches() == 0

    incident_resolve(incident=Incident.objects.get(pk=by_area.pk), actor=ops)
    assert close_to(shifted_by(before, ticket), timedelta(hours=3))  # 3 h in all, not 3 + 2


def test_a_reopened_incident_pauses_again_only_from_its_reopening(catalogue, ticket_in, ops):
    ticket = ticket_in(service=catalogue.email)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    keep_open(ticket)  # stays open through the resolve
    linked_hours_ago(ticket, incident, 5)
    before = due(ticket)
    incident_resolve(incident=Incident.objects.get(pk=incident.pk), actor=ops)
    assert close_to(shifted_by(before, ticket), timedelta(hours=5))

    incident_reopen(incident=Incident.objects.get(pk=incident.pk), actor=ops)
    Incident.objects.filter(pk=incident.pk).update(reopened_at=timezone.now() - timedelta(hours=1))
    incident_resolve(incident=Incident.objects.get(pk=incident.pk), actor=ops)
    # 5 h before the first resolve and 1 h since the reopening; not the time it stood resolved.
    assert close_to(shifted_by(before, ticket), timedelta(hours=6))


def test_agents_see_the_pause_on_the_ticket_and_in_the_queue(catalogue, ticket_in, ops, agent):
    ticket = ticket_in(service=catalogue.email)
    incident = declare_incident(actor=ops, title="Mail platform down", services=[catalogue.email]).incident
    set_due(ticket, timezone.now() - timedelta(minutes=5))  # would show as overdue
    client = Client()
    client.force_login(agent)
    expected = f"SLA paused — waiting on incident #{incident.pk} Mail platform down"

    page = client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()
    queue = client.get(reverse("tickets:queue")).content.decode()

    assert expected in page
    assert expected in queue
    assert "over</span>" not in queue  # not shown as a breach while paused

    incident_resolve(incident=Incident.objects.get(pk=incident.pk), actor=ops)
    Ticket.objects.filter(pk=ticket.pk).update(status="open", resolved_at=None)
    assert "SLA paused" not in client.get(reverse("tickets:queue")).content.decode()


def test_the_pause_is_shown_in_the_agents_language(catalogue, ticket_in, ops, agent):
    ticket = ticket_in(service=catalogue.email)
    declare_incident(actor=ops, title="Posten nere", services=[catalogue.email])
    client = Client()
    client.force_login(agent)
    page = client.get(
        reverse("tickets:detail", args=[ticket.reference]), HTTP_ACCEPT_LANGUAGE="sv"
    ).content.decode()
    assert "SLA pausad — väntar på incident" in page


def test_the_ticket_api_says_what_the_sla_waits_on(catalogue, ticket_in, ops, agent):
    waiting = ticket_in(service=catalogue.email)
    other = ticket_in(service=catalogue.iptv)
    incident = declare_incident(actor=ops, title="Mail platform down", services=[catalogue.email]).incident
    client = Client()
    client.force_login(agent)

    assert client.get(f"/api/v1/tickets/{waiting.reference}/").json()["sla_paused_by"] == (
        f"#{incident.pk} Mail platform down"
    )
    assert client.get(f"/api/v1/tickets/{other.reference}/").json()["sla_paused_by"] is None
    incident_resolve(incident=Incident.objects.get(pk=incident.pk), actor=ops)
    assert client.get(f"/api/v1/tickets/{waiting.reference}/").json()["sla_paused_by"] is None
