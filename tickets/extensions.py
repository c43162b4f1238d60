"""Extension points: how higher apps add to tickets' pages, queues and API payloads.

The tickets app may not import the apps above it (incidents, notifications), nor reach into them
through reverse relations, field names or URL names. Instead it offers these hooks; a higher app
fills them in its ``AppConfig.ready()`` (see ``incidents/extensions.py``). With nothing registered
the tickets pages and API still work, they just show nothing of the higher app.

- ``queue_annotations``: ``qs -> qs`` functions applied to every queue page's queryset (one
  annotation each, so the page's query count does not grow with its size).
- ``payload_fields``: extra read-only fields of the ticket API's output, ``name -> field factory``;
  ``payload_prefetches`` are applied to the ticket querysets those fields read.
  ``customer_payload_fields``: the same for the customer's view of their ticket (only what a
  customer may see; a name missing here is left out of the customer's payload).
- ``list_filters``: extra ``?name=value`` filters of the ticket list API, with their OpenAPI parameter.
- ``queue_filters``: extra filters of the agent's queue page (``?name=value``), with a label and
  the choices the page offers; ``apply(qs, value)`` narrows the queryset (one condition, no join
  that multiplies rows) and returns None for a value it does not know.
- ``sla_pauses``: what stops a ticket's SLA clock while it lasts (the delay is ours, not the agent's),
  ``name -> SlaPause``. The breach sweep (``tickets.services.tickets_flag_sla_breaches``) skips
  paused tickets; queue rows and the agent's ticket page carry ``sla_paused_by``, a short text naming
  what the ticket waits on. Whoever registers a pause ends it by moving the tickets' due times later
  by the paused time (``tickets.services.tickets_shift_sla``), in one UPDATE.
- ``panels``: template panels rendered into named slots of the ticket pages by
  ``{% ticket_panels "slot" obj %}`` (``tickets/templatetags/ticket_panels.py``). Slots:
  ``ticket-top`` and ``ticket-aside`` (the agent's ticket page, obj = ticket), ``my-ticket`` (the
  customer's ticket page, after the ticket's own timeline, obj = ticket), ``my-tickets-top`` (the top
  of the customer's My tickets, obj = customer), ``new-ticket-subscription``
  (the contact form, for the subscription the customer picked, obj = subscription), ``lookup-top`` (the caller look-up, obj = customer),
  ``cluster-actions`` (second line's similar-tickets panel, obj = the cluster dict).
- ``macro_placeholders``: extra ``{name}`` placeholders of canned replies, ``name -> (ticket,
  language) -> str`` (``tickets.macros``), with a help text for the admin.
  ``macro_placeholder_loaders``: the same placeholder for many tickets at once (a bulk reply),
  ``name -> (tickets) -> (ticket, language) -> str``: the loader reads what every ticket needs in
  one query, the function it returns reads none. A placeholder without a loader costs its queries
  per ticket.
- ``bulk_actions``: actions of the queue's bulk bar and of ``POST /api/v1/tickets/bulk/`` on a
  target the higher app knows (link to an incident), ``name -> BulkAction``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce


@dataclass(frozen=True)
class Panel:
    """A template rendered into a slot. ``context(request, obj)`` returns its context, or None to
    render nothing for this object."""

    template: str
    context: Callable[[Any, Any], dict | None]


@dataclass(frozen=True)
class ListFilter:
    """``?name=value`` on the ticket list API: ``apply(qs, value)`` narrows the queryset and raises
    ``core.errors.DomainError`` (field ``name``) for a bad value. ``parameter`` documents it."""

    apply: Callable[[QuerySet, str], QuerySet]
    parameter: Any  # drf_spectacular.utils.OpenApiParameter


@dataclass(frozen=True)
class QueueFilter:
    """``?name=value`` on the agent's queue page. ``choices()`` gives ``(value, label)`` pairs for
    the page's select (one query at most); ``apply(qs, value)`` returns the narrowed queryset, or
    None when ``value`` is not one it knows (the page then ignores the filter)."""

    label: Any  # a lazy translation
    choices: Callable[[], list[tuple[str, str]]]
    apply: Callable[[QuerySet, str], QuerySet | None]


@dataclass(frozen=True)
class SlaPause:
    """``paused()``: a condition on ticket rows (e.g. an ``Exists`` over ``OuterRef("pk")``), true
    while the clock stands still. ``reason()``: a text expression per ticket row naming what it waits
    on (NULL when not paused), shown to agents."""

    paused: Callable[[], Any]
    reason: Callable[[], Any]


@dataclass(frozen=True)
class BulkAction:
    """A bulk action on a target: the bar's select offers ``<name>:<target>`` under ``label`` for
    each of ``choices()`` (``(target, label)`` pairs, one query at most); the API takes
    ``action=<name>`` with the target id in the field ``field`` (described by ``help``).
    ``apply(ticket_ids=, target=, actor=)`` does it to the open tickets among the ids in a fixed
    number of statements, with the timeline entry on each, and returns how many it changed; it
    raises ``core.errors.DomainError`` for a target that is not (or no longer) valid."""

    label: Any  # a lazy translation: the group's label in the bar
    field: str
    help: str
    choices: Callable[[], list[tuple[str, str]]]
    apply: Callable[..., int]


@dataclass
class TicketExtensions:
    queue_annotations: list[Callable[[QuerySet], QuerySet]] = field(default_factory=list)
    payload_fields: dict[str, Callable[[], Any]] = field(default_factory=dict)
    customer_payload_fields: dict[str, Callable[[], Any]] = field(default_factory=dict)
    payload_prefetches: list[Prefetch] = field(default_factory=list)
    list_filters: dict[str, ListFilter] = field(default_factory=dict)
    queue_filters: dict[str, QueueFilter] = field(default_factory=dict)
    panels: dict[str, list[Panel]] = field(default_factory=lambda: defaultdict(list))
    macro_placeholders: dict[str, tuple[Callable[[Any, str], str], Any]] = field(default_factory=dict)
    sla_pauses: dict[str, SlaPause] = field(default_factory=dict)
    macro_placeholder_loaders: dict[str, Callable[[list], Callable[[Any, str], str]]] = field(
        default_factory=dict
    )
    bulk_actions: dict[str, BulkAction] = field(default_factory=dict)

    def add_panel(self, slot: str, panel: Panel) -> None:
        """Register ``panel`` in ``slot`` once (ready() may run more than once in tests)."""
        if panel.template not in {p.template for p in self.panels[slot]}:
            self.panels[slot].append(panel)

    def add_queue_annotation(self, annotate: Callable[[QuerySet], QuerySet]) -> None:
        if annotate not in self.queue_annotations:
            self.queue_annotations.append(annotate)

    def add_payload_prefetch(self, prefetch: Prefetch) -> None:
        if prefetch.prefetch_to not in {p.prefetch_to for p in self.payload_prefetches}:
            self.payload_prefetches.append(prefetch)

    def annotate_queue(self, qs: QuerySet) -> QuerySet:
        for annotate in self.queue_annotations:
            qs = annotate(qs)
        return qs

    def sla_paused_q(self) -> Q | None:
        """True for tickets whose SLA clock stands still; None when nothing can pause it."""
        q = None
        for pause in self.sla_pauses.values():
            q = Q(pause.paused()) if q is None else q | Q(pause.paused())
        return q

    def annotate_sla_pause(self, qs: QuerySet) -> QuerySet:
        """``sla_paused_by`` on every row: what its SLA clock waits on, or None (one subquery per
        registered pause, so a page's query count does not change)."""
        reasons = [pause.reason() for pause in self.sla_pauses.values()]
        if not reasons:
            return qs.annotate(sla_paused_by=Value(None, output_field=CharField()))
        if len(reasons) == 1:
            return qs.annotate(sla_paused_by=reasons[0])
        return qs.annotate(sla_paused_by=Coalesce(*reasons, output_field=CharField()))

    def prefetch_payload(self, qs: QuerySet) -> QuerySet:
        return qs.prefetch_related(*self.payload_prefetches) if self.payload_prefetches else qs


# The one registry, filled by higher apps' ready().
extensions = TicketExtensions()
