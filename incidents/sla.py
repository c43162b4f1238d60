"""SLA paused while a ticket waits on an active incident: the delay is ours, not the agent's.

A ticket's SLA clock stands still while it has a *pausing* link: attached, to an active incident
that is not a known issue (a known defect comes with a workaround the agent can give, so the ticket
does not wait on us). The breach sweep skips such tickets (``tickets.extensions.sla_pauses``,
registered in ``incidents.extensions``). When pausing links end — the incident is resolved or
withdrawn, or the link is detached (by a person, a narrowed scope, a changed ticket) — one UPDATE
moves the tickets' ``sla_due_at`` later by the time their clock stood still (``resume``). At a
resolve only the tickets the resolution leaves open are moved (marked keep open, or the customer
wrote since the link): close-the-loop resolves the others, so their due time no longer matters, and
moving 10,000 due times cost more than the whole loop (bench/README.md). A customer writing between
the resolve and the loop reaching the ticket keeps it open without the shift; its agent is alerted
about it anyway.

Overlapping incidents are counted once. A link's pause starts at ``pause_start`` (when it was
linked, or the incident reopened, whichever is later). When links end at ``at``, a ticket's due
time moves by ``(earliest start among its pausing links that remain, else at) - (earliest start
among the ending ones)`` when that is positive. By induction this keeps "time shifted so far +
(now - earliest start of the remaining pausing links)" equal to the length of the union of the
paused intervals: the remaining links all run until now, so their union is one interval from their
earliest start, and the part of the ending links' time before it is what is added.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import CharField, DateTimeField, Exists, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, Greatest

from incidents.models import INACTIVE_STATUSES, Incident, IncidentTicketLink
from tickets.extensions import SlaPause
from tickets.models import Ticket
from tickets.services import tickets_shift_sla, tickets_shift_sla_by


def pausing_links() -> QuerySet[IncidentTicketLink]:
    """Links that stop their ticket's SLA clock now."""
    return IncidentTicketLink.objects.filter(
        detached_at__isnull=True,
        incident__in=Incident.objects.active().exclude(kind=Incident.Kind.KNOWN_ISSUE),
    )


def pause_start():
    """When a link's pause began: linked, or its incident reopened (a resolved incident's links
    stay attached, but the time it was resolved paused nothing). PostgreSQL's GREATEST ignores a
    NULL; SQLite's returns NULL, hence the COALESCE."""
    return Coalesce(
        Greatest("created_at", "incident__reopened_at"), "created_at", output_field=DateTimeField()
    )


def _earliest_start(links: QuerySet[IncidentTicketLink]) -> Subquery:
    return Subquery(
        links.filter(ticket=OuterRef("pk"))
        .annotate(start=pause_start())
        .order_by("start")
        .values("start")[:1],
        output_field=DateTimeField(),
    )


def resume(*, ending: QuerySet[IncidentTicketLink], at: datetime) -> int:
    """Call just before the links of ``ending`` stop pausing (inside that transaction): move their
    open tickets' SLA due times later by the time their clocks stood still, in one UPDATE (see the
    module docstring for overlapping incidents). Returns how many tickets moved."""
    ending = ending & pausing_links()
    if connection.vendor == "postgresql":
        return _resume_sql(ending=ending, at=at)
    remaining = pausing_links().exclude(pk__in=ending.values("pk"))
    started = _earliest_start(ending)
    until = Coalesce(_earliest_start(remaining), Value(at, output_field=DateTimeField()))
    tickets = (
        Ticket.objects.filter(pk__in=ending.values("ticket_id"))
        .alias(paused_from=started, paused_until=until)
        .filter(paused_from__lt=F("paused_until"))
    )
    return tickets_shift_sla(tickets=tickets, by=until - started)


def _resume_sql(*, ending: QuerySet[IncidentTicketLink], at: datetime) -> int:
    # The ending links are read once (a CTE), not once per ticket as the ORM's correlated
    # sub-selects do (10 s for 10,000 tickets under load, measured). Same arithmetic as ``resume``.
    which, params = ending.order_by().values("pk").query.sql_with_params()
    link, incident = IncidentTicketLink._meta.db_table, Incident._meta.db_table
    start = "COALESCE(GREATEST({0}.created_at, {1}.reopened_at), {0}.created_at)"
    shifts = f"""
        WITH ending AS (
            SELECT l.id, l.ticket_id, {start.format("l", "i")} AS start
            FROM {link} l JOIN {incident} i ON i.id = l.incident_id
            WHERE l.id IN ({which})
        )
        SELECT e.ticket_id,
               COALESCE((
                   SELECT min({start.format("o", "oi")})
                   FROM {link} o JOIN {incident} oi ON oi.id = o.incident_id
                   WHERE o.ticket_id = e.ticket_id AND o.detached_at IS NULL
                         AND oi.status NOT IN %s AND oi.kind <> %s
                         AND o.id NOT IN (SELECT id FROM ending)
               ), %s) - min(e.start)
        FROM ending e GROUP BY e.ticket_id
    """
    return tickets_shift_sla_by(
        shifts_sql=shifts,
        params=[*params, INACTIVE_STATUSES, Incident.Kind.KNOWN_ISSUE.value, at],
    )


def _paused() -> Exists:
    return Exists(pausing_links().filter(ticket=OuterRef("pk")))


def _waiting_on() -> Subquery:
    """The incident a paused ticket waits on, as "#12 Title" (the earliest linked, if several)."""
    label = Concat(
        Value("#"), Cast("incident_id", CharField()), Value(" "), "incident__title", output_field=CharField()
    )
    return Subquery(
        pausing_links()
        .filter(ticket=OuterRef("pk"))
        .annotate(label=label)
        .order_by("created_at", "pk")
        .values("label")[:1],
        output_field=CharField(),
    )


PAUSE = SlaPause(paused=_paused, reason=_waiting_on)
