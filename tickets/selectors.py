"""Named reads of tickets: who may see which, queues, waiting times."""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import timedelta

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from core.roles import CUSTOMER, has_role, is_staff_member
from customers.models import Customer
from customers.phones import phone_candidates
from tickets.extensions import extensions
from tickets.models import Ticket, TicketEvent

QUEUE_PAGE_SIZE = 50


def get_ticket_for(user, reference: str) -> Ticket:
    """The ticket ``reference`` if ``user`` may see it, else 404 — never 403, so a customer cannot
    learn that someone else's ticket exists. Staff see every ticket; customers only their own."""
    qs = Ticket.objects.by_reference(reference).select_related(
        "customer", "subscription", "service", "area", "equipment", "assignee"
    )
    if is_staff_member(user):
        ticket = qs.first()
    elif has_role(user, CUSTOMER):
        ticket = qs.filter(customer__user=user).first()
    else:
        ticket = None
    if ticket is None:
        raise Http404
    return ticket


def customer_for(user) -> Customer:
    customer = Customer.objects.filter(user=user).first()
    if customer is None:
        raise Http404
    return customer


def queue_page(*, queue: str, assignee=None, before_id: int | None = None) -> tuple[list[Ticket], int | None]:
    """One page of a queue's open tickets, newest first, in a constant number of queries.

    Keyset pagination on the primary key (``before_id``): no OFFSET scan and no COUNT(*) over a
    million rows. Returns the tickets and the id to continue from (None on the last page)."""
    qs = Ticket.objects.open().select_related("customer", "service", "area", "assignee")
    qs = qs.filter(assignee=assignee) if assignee is not None else qs.filter(queue=queue)
    if before_id:
        qs = qs.filter(pk__lt=before_id)
    tickets = list(extensions.annotate_queue(qs).order_by("-pk")[: QUEUE_PAGE_SIZE + 1])
    more = len(tickets) > QUEUE_PAGE_SIZE
    tickets = tickets[:QUEUE_PAGE_SIZE]
    return tickets, (tickets[-1].pk if more else None)


def customer_tickets(customer: Customer) -> QuerySet[Ticket]:
    return customer.tickets.select_related("service").order_by("-created_at")


def second_line_wait() -> dict:
    """What first line may promise: how many wait for second line and how long it took lately."""
    open_count = Ticket.objects.open().filter(queue=Ticket.Queue.SECOND_LINE).count()
    since = timezone.now() - timedelta(days=14)
    durations = list(
        Ticket.objects.filter(queue=Ticket.Queue.SECOND_LINE, resolved_at__gte=since)
        .annotate(took=ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField()))
        .order_by("took")
        .values_list("took", flat=True)[:1000]
    )
    median = durations[len(durations) // 2] if durations else None
    median_hours = round(median.total_seconds() / 3600, 1) if median is not None else None
    return {"open": open_count, "median_hours": median_hours, "sample": len(durations)}


def find_customers(q: str) -> list[Customer]:
    """Customers by phone (any common format, ``customers.phones``), customer number, e-mail or
    name; at most 20."""
    q = q.strip()
    phones = phone_candidates(q)
    if "@" in q:
        qs = Customer.objects.filter(email__iexact=q)
    elif q.isdigit():  # a customer number or a caller-ID without the plus
        qs = Customer.objects.filter(Q(number=q) | Q(phones__number__in=phones))
    elif phones:
        qs = Customer.objects.filter(phones__number__in=phones)
    else:
        qs = Customer.objects.filter(name__icontains=q)
    return list(qs.distinct().order_by("number")[:20])


def escalation_clusters(limit: int = 8) -> list[dict]:
    """Open second-line tickets grouped by service and area: a cluster may be an undeclared incident."""
    return list(
        Ticket.objects.open()
        .filter(queue=Ticket.Queue.SECOND_LINE, service__isnull=False, area__isnull=False)
        .values("service__code", "service__name", "area__code", "area__name")
        .annotate(count=Count("id"))
        .filter(count__gte=2)
        .order_by("-count")[:limit]
    )


# --- search ------------------------------------------------------------------------------------

SEARCH_LIMIT = 20
# Kinds of timeline entry whose text a person wrote: what "the text of comments" means in search.
COMMENT_KINDS = ("reply", "customer-message", "note")
_SEARCH_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class SearchResults:
    """Search hits grouped by what they are. ``ticket`` is set when the query is a ticket reference
    that exists: the view goes straight to it."""

    q: str
    ticket: Ticket | None = None
    customers: list[Customer] = dc_field(default_factory=list)
    tickets: list[Ticket] = dc_field(default_factory=list)
    comments: list[TicketEvent] = dc_field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.ticket or self.customers or self.tickets or self.comments)


def search_words(q: str) -> list[str]:
    """The words of a query, lower-cased, at most eight (punctuation never reaches SQL)."""
    return [w.lower() for w in _SEARCH_WORD.findall(q)][:8]


def _prefix_tsquery(words: list[str]) -> SearchQuery:
    # Every word as a prefix ("lindq" finds Lindqvist), all required. 'simple' config: no stemming,
    # no stop words, so Swedish, Finnish and English text are all found as written.
    # The words are \w+ only, so the raw tsquery syntax cannot be injected.
    return SearchQuery(" & ".join(f"{w}:*" for w in words), config="simple", search_type="raw")


def _text_filter(words: list[str], *fields: str) -> tuple[dict, Q]:
    """(annotations, condition) matching ``fields`` against all ``words``: full-text with the GIN
    index on PostgreSQL (the vector expression must be exactly the one indexed, see the
    ``search_indexes`` migrations), ``icontains`` for every word elsewhere."""
    if connection.vendor == "postgresql":
        return {"search_vector": SearchVector(*fields, config="simple")}, Q(
            search_vector=_prefix_tsquery(words)
        )
    cond = Q()
    for w in words:
        cond &= functools.reduce(operator.or_, (Q(**{f"{f}__icontains": w}) for f in fields))
    return {}, cond


def search_customers(q: str, words: list[str]) -> list[Customer]:
    """Customers by number, phone (any format ``customers.phones`` reads), e-mail or name words."""
    phones = phone_candidates(q)
    cond = Q(pk__in=[])
    if q.isdigit():
        cond |= Q(number=q)
    if phones:
        cond |= Q(phones__number__in=phones)
    if "@" in q:
        # Equality (not iexact) so the e-mail index is used; addresses are stored as given.
        cond |= Q(email__in={q, q.lower()})
    qs = Customer.objects.filter(cond)
    if words and not phones and not q.isdigit() and "@" not in q:
        annotations, name_cond = _text_filter(words, "name")
        qs = Customer.objects.alias(**annotations).filter(name_cond)
    return list(qs.distinct().order_by("number")[:SEARCH_LIMIT])


def search(q: str) -> SearchResults:
    """Ticket references, customers and the text of tickets (subject, description) and comments.

    Each group is one query of at most ``SEARCH_LIMIT`` rows, newest first: on PostgreSQL a bitmap
    scan of a GIN index over ``to_tsvector('simple', …)``, so a million tickets cost what a thousand
    do for rare words; the planner walks the primary key instead when a word is very common."""
    q = " ".join((q or "").split())[:200]
    results = SearchResults(q=q)
    if not q:
        return results
    pk = Ticket.pk_from_reference(q.replace(" ", ""))
    if pk is not None:
        results.ticket = Ticket.objects.filter(pk=pk).select_related("customer").first()
        if results.ticket is not None:
            return results
    words = search_words(q)
    results.customers = search_customers(q, words)
    if not words or phone_candidates(q):
        return results
    annotations, cond = _text_filter(words, "subject", "description")
    results.tickets = list(
        Ticket.objects.alias(**annotations)
        .filter(cond)
        .select_related("customer")
        .order_by("-pk")[:SEARCH_LIMIT]
    )
    annotations, cond = _text_filter(words, "body")
    results.comments = list(
        TicketEvent.objects.filter(kind__in=COMMENT_KINDS)
        .alias(**annotations)
        .filter(cond)
        .select_related("ticket", "ticket__customer", "actor")
        .order_by("-pk")[:SEARCH_LIMIT]
    )
    return results
