"""Named reads of tickets: who may see which, queues, waiting times."""

from __future__ import annotations

import functools
import math
import operator
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Lower
from django.http import Http404
from django.utils import timezone

from core.roles import CUSTOMER, has_role, is_staff_member
from customers.models import Area, Customer, CustomerPhone, Service, Subscription
from customers.phones import phone_candidates
from customers.selectors import delivered_at, services_at
from tickets.extensions import extensions
from tickets.models import InboundMessage, SavedView, Ticket, TicketEvent

QUEUE_PAGE_SIZE = 50


def get_ticket_for(user, reference: str) -> Ticket:
    """The ticket ``reference`` if ``user`` may see it, else 404 — never 403, so a customer cannot
    learn that someone else's ticket exists. Staff see every ticket; customers only their own."""
    qs = Ticket.objects.by_reference(reference).select_related(
        "customer", "subscription", "service", "area", "equipment", "assignee"
    )
    if is_staff_member(user):
        ticket = extensions.annotate_sla_pause(qs).first()  # staff see why the SLA clock stands still
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


EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
# Soonest due first; a ticket without an SLA due time (only hand-written rows lack one) counts as due
# when it was opened, so it surfaces rather than sinking. Oldest first for "age". The expression is
# the one indexed by ``ticket_open_queue_sla_idx``.
QUEUE_ORDERS = {"sla": Coalesce("sla_due_at", "created_at"), "age": F("created_at")}


# What a queue row shows (tickets.queue_rows): only these columns are read. A ticket's description
# (up to 20,000 characters) and the joined rows' other columns were most of the bytes a page read,
# and each is a Python object built per row (bench/README.md, "Lists by cursor").
QUEUE_COLUMNS = (
    "id",
    "subject",
    "status",
    "priority",
    "queue",
    "created_at",
    "sla_due_at",
    "sla_breached",
    "customer__name",
    "service__name",
    "area__name",
    "assignee__username",
)


@dataclass(frozen=True)
class QueueFilters:
    """What the agent narrowed the queue to. Empty strings and None mean "any"; ``extra`` holds the
    values of filters registered by higher apps (``tickets.extensions.queue_filters``)."""

    status: str = ""
    category: str = ""
    service: int | None = None
    area: int | None = None
    unassigned: bool = False
    extra: dict[str, str] = dc_field(default_factory=dict)


def encode_cursor(value: datetime, pk: int) -> str:
    """``<microseconds since 1970>_<id>``: the sort key and id of a page's last row."""
    return f"{(value - EPOCH) // timedelta(microseconds=1)}_{pk}"


def decode_cursor(text: str) -> tuple[datetime, int] | None:
    """The (value, id) of a cursor from ``encode_cursor``; None for anything else (first page)."""
    key, _sep, pk = (text or "").partition("_")
    if not pk.isascii() or not pk.isdigit() or len(pk) > 18:  # an id that fits a bigint
        return None
    if not key.isascii() or not key.lstrip("-").isdigit() or len(key) > 18:
        return None
    return EPOCH + timedelta(microseconds=int(key)), int(pk)


def queue_page(
    *,
    queue: str,
    assignee=None,
    filters: QueueFilters | None = None,
    order: str = "sla",
    after: tuple[datetime, int] | None = None,
) -> tuple[list[Ticket], str | None]:
    """One page of a queue's open tickets, SLA due soonest first (``order="age"``: oldest first),
    in a constant number of queries.

    Keyset pagination on (due time, id) — the partial index ``ticket_open_queue_sla_idx`` serves
    it — so no OFFSET scan and no COUNT(*) over a million rows.
    ``assignee`` lists that agent's tickets in every queue. Returns the tickets and the cursor of
    the next page (None on the last page). Second line's rows carry ``handover``: the summary of
    the latest escalation."""
    filters = filters or QueueFilters()
    qs = Ticket.objects.open().select_related("customer", "service", "area", "assignee").only(*QUEUE_COLUMNS)
    qs = qs.filter(assignee=assignee) if assignee is not None else qs.filter(queue=queue)
    if filters.status in Ticket.OPEN_STATUSES:
        qs = qs.filter(status=filters.status)
    if filters.category in Ticket.Category.values:
        qs = qs.filter(category=filters.category)
    if filters.service:
        qs = qs.filter(service_id=filters.service)
    if filters.area:
        qs = qs.filter(area_id=filters.area)
    if filters.unassigned:
        qs = qs.filter(assignee__isnull=True)
    for name, value in filters.extra.items():
        registered = extensions.queue_filters.get(name)
        narrowed = registered.apply(qs, value) if registered and value else None
        qs = narrowed if narrowed is not None else qs
    if queue == Ticket.Queue.SECOND_LINE and assignee is None:
        latest_escalation = TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=TicketEvent.Kind.ESCALATED)
        qs = qs.annotate(
            handover=Subquery(latest_escalation.order_by("-created_at", "-id").values("body")[:1])
        )
    qs = extensions.annotate_queue(qs)
    qs = extensions.annotate_sla_pause(qs)

    qs = qs.alias(queue_key=QUEUE_ORDERS.get(order, QUEUE_ORDERS["sla"]))
    if after is not None:
        value, after_pk = after
        # The redundant ">=" gives the index a range to start from; the OR breaks ties by id.
        qs = qs.filter(Q(queue_key__gte=value) & (Q(queue_key__gt=value) | Q(pk__gt=after_pk)))
    tickets = list(qs.order_by("queue_key", "pk")[: QUEUE_PAGE_SIZE + 1])
    more = len(tickets) > QUEUE_PAGE_SIZE
    tickets = tickets[:QUEUE_PAGE_SIZE]
    if not more:
        return tickets, None
    last = tickets[-1]
    return tickets, encode_cursor(
        last.sla_due_at or last.created_at if order != "age" else last.created_at, last.pk
    )


def queue_filter_choices() -> dict:
    """The queue filters' choices: statuses and categories from the model, services and areas from
    the catalogue (two small queries, whatever the page shows)."""
    return {
        "status": [(s, Ticket.Status(s).label) for s in Ticket.OPEN_STATUSES],
        "category": Ticket.Category.choices,
        "service": list(Service.objects.order_by("name").values_list("pk", "name")),
        "area": list(Area.objects.order_by("name").values_list("pk", "name")),
    }


def open_duplicates(
    customer: Customer, *, service_id: int | None, exclude: int | None = None
) -> list[Ticket]:
    """The customer's other open tickets that may be about the same thing: those on ``service_id``
    (all open ones when the service is not known yet), newest first."""
    tickets = customer.tickets.open().select_related("service").order_by("-created_at")
    if service_id is not None:
        tickets = tickets.filter(service_id=service_id)
    if exclude is not None:
        tickets = tickets.exclude(pk=exclude)
    return list(tickets[:10])


def coverage_at_addresses(customer: Customer) -> list[tuple[Area, list[Service]]]:
    """What we can deliver at each place the customer has a subscription (story 5: what was sold is
    not always what exists there). One query per distinct place; customers have one or two."""
    areas = Area.objects.filter(subscriptions__customer=customer).distinct().order_by("path")
    return [(area, list(services_at(area))) for area in areas]


def service_unavailable_in_area(ticket: Ticket) -> bool:
    """The ticket is about a service we do not deliver in its area (one query; False when either is
    unknown)."""
    if ticket.service_id is None or ticket.area_id is None:
        return False
    return not delivered_at(service_id=ticket.service_id, area=ticket.area)


def subscription_not_delivered(subscription: Subscription | None) -> bool:
    """The customer's subscription is for a service we do not deliver where it is (story 5: 4G sold
    for a summer house on an island without 4G). One query; False without a subscription."""
    if subscription is None:
        return False
    return not delivered_at(service_id=subscription.service_id, area=subscription.area)


def customer_tickets(customer: Customer) -> QuerySet[Ticket]:
    return customer.tickets.select_related("service").order_by("-created_at")


WAIT_WINDOW_DAYS = 30
WAIT_SAMPLE_LIMIT = 5000  # the newest resolutions; enough for stable percentiles, bounded cost


def _hours(d: timedelta | None) -> float | None:
    return round(d.total_seconds() / 3600, 1) if d is not None else None


def second_line_wait(category: str | None = None) -> dict:
    """What first line may promise a customer whose ticket goes to second line.

    - ``open``: second line's queue now (open tickets in the second-line queue).
    - ``median_hours``, ``p80_hours``: time to resolution (opened → resolved) of second-line tickets
      of ``category`` (all categories when None) resolved in the last 30 days; ``sample`` of them.
      p80 is nearest-rank: four in five were resolved within it.
    - ``clear_hours``: how long second line needs to work through the current queue at its pace of
      the last 30 days (all categories: the queue is shared).
    - ``promise_hours``: the larger of ``p80_hours`` and ``clear_hours``, rounded up to a whole hour
      — a wait most customers will beat even when the queue is long; None without history.
    """
    second_line = Ticket.objects.filter(queue=Ticket.Queue.SECOND_LINE)
    open_count = second_line.open().count()
    since = timezone.now() - timedelta(days=WAIT_WINDOW_DAYS)
    resolved = second_line.filter(resolved_at__gte=since)
    mine = resolved.filter(category=category) if category else resolved
    durations = sorted(
        mine.annotate(
            took=ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField())
        )
        .order_by("-resolved_at")
        .values_list("took", flat=True)[:WAIT_SAMPLE_LIMIT]
    )
    n = len(durations)
    median = p80 = None
    if n:
        half = n // 2
        median = durations[half] if n % 2 else (durations[half - 1] + durations[half]) / 2
        p80 = durations[math.ceil(0.8 * n) - 1]
    per_hour = resolved.count() / (WAIT_WINDOW_DAYS * 24)
    clear_hours = round(open_count / per_hour, 1) if per_hour else None
    promise = None
    if p80 is not None:
        promise = math.ceil(max(p80.total_seconds() / 3600, clear_hours or 0))
    return {
        "open": open_count,
        "median_hours": _hours(median),
        "p80_hours": _hours(p80),
        "sample": n,
        "clear_hours": clear_hours,
        "promise_hours": promise,
        "category": category,
    }


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


CLUSTER_WINDOW = timedelta(hours=24)
CLUSTER_MIN_TICKETS = 2


def _unexplained_recent_open(now=None) -> QuerySet[Ticket]:
    """Open tickets of the last CLUSTER_WINDOW that no active incident explains (the mark the
    incidents app annotates queue rows with, when it is installed), with a service and a leaf area."""
    since = (now or timezone.now()) - CLUSTER_WINDOW
    qs = extensions.annotate_queue(
        Ticket.objects.open().filter(created_at__gte=since, service__isnull=False, area__parent__isnull=False)
    )
    return qs.filter(has_incident=False) if "has_incident" in qs.query.annotations else qs


def escalation_clusters(limit: int = 8) -> list[dict]:
    """Similar open tickets that may be one undeclared fault: the last day's tickets that no active
    incident explains, grouped by service and the municipality (or exchange's parent) of their area.
    Each: ``service_code``, ``service_name``, ``area_code``, ``area_name``, ``count``."""
    return list(
        _unexplained_recent_open()
        .values(
            service_code=F("service__code"),
            service_name=F("service__name"),
            area_code=F("area__parent__code"),
            area_name=F("area__parent__name"),
        )
        .annotate(count=Count("id"))
        .filter(count__gte=CLUSTER_MIN_TICKETS)
        .order_by("-count", "service_code", "area_code")[:limit]
    )


def cluster_tickets(*, service_code: str, area_code: str, limit: int = 200) -> list[Ticket]:
    """The tickets of one cluster of ``escalation_clusters``, oldest first."""
    return list(
        _unexplained_recent_open()
        .filter(service__code=service_code, area__parent__code=area_code)
        .order_by("created_at", "pk")[:limit]
    )


def quarantine_page(limit: int = 100) -> tuple[list[InboundMessage], int]:
    """Quarantined e-mail, newest first (raw bytes deferred: the list needs none), and how many wait."""
    rows = InboundMessage.objects.filter(status=InboundMessage.Status.QUARANTINED)
    return list(rows.defer("raw").order_by("-received_at", "-id")[:limit]), rows.count()


# --- search ------------------------------------------------------------------------------------

SEARCH_LIMIT = 20
# Kinds of timeline entry whose text a person wrote: what "the text of comments" means in search.
COMMENT_KINDS = ("reply", "customer-message", "note")
_SEARCH_WORD = re.compile(r"\w+", re.UNICODE)
# Newest first, but through an expression no index provides: otherwise, for words it guesses are
# common, the planner walks the primary key backwards testing every row — seconds when the words are
# in no ticket at all (measured: 24 s at 1M). This way the GIN index always finds the matches and
# only those are sorted, so the cost follows the number of matches, not the size of the table.
NEWEST = (F("pk") + 0).desc()


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
    # All words required, the last as a prefix (typing "karin lindq" finds Lindqvist); earlier words
    # whole, since a prefix makes GIN read every lexeme it covers. 'simple' config: no stemming, no
    # stop words, so Swedish, Finnish and English text are all found as written.
    # The words are \w+ only, so the raw tsquery syntax cannot be injected.
    terms = [*words[:-1], f"{words[-1]}:*"]
    return SearchQuery(" & ".join(terms), config="simple", search_type="raw")


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
    if words and not phones and not q.isdigit() and "@" not in q:
        annotations, name_cond = _text_filter(words, "name")
        qs = Customer.objects.alias(**annotations).filter(name_cond)
        return list(qs.order_by(Lower("name"), "number")[:SEARCH_LIMIT])
    cond = Q(pk__in=[])
    if q.isdigit():
        cond |= Q(number=q)
    if phones:
        # Ids first, in a query of their own: an OR across the join to phones would defeat both
        # indexes and scan every customer; an OR of indexed columns of one table does not.
        ids = list(
            CustomerPhone.objects.filter(number__in=phones).values_list("customer_id", flat=True)[:100]
        )
        cond |= Q(pk__in=ids)
    if "@" in q:
        # Equality (not iexact) so the e-mail index is used; addresses are stored as given.
        cond |= Q(email__in={q, q.lower()})
    return list(Customer.objects.filter(cond).order_by("number")[:SEARCH_LIMIT])


RECENT_WINDOW = 2000  # rows read newest-first before the GIN index is asked (see _newest_matching)


def _newest_matching(qs: QuerySet, words: list[str], fields: tuple[str, ...]) -> list:
    """The newest ``SEARCH_LIMIT`` rows of ``qs`` whose ``fields`` hold all ``words``.

    On PostgreSQL in two steps, because no single plan is fast for both kinds of word. Common
    words (a subject thousands of tickets share): reading the newest ``RECENT_WINDOW`` rows by
    primary key and testing each finds 20 at once, while the GIN index would have to list every
    match first (hundreds of ms at 1M). Rare or absent words: that read finds fewer than 20, and
    the GIN index answers from its few matches. The first step's vector deliberately differs from
    the indexed expression (an extra empty part) so the planner cannot swap in the index."""
    annotations, cond = _text_filter(words, *fields)
    if connection.vendor != "postgresql":
        return list(qs.alias(**annotations).filter(cond).order_by("-pk")[:SEARCH_LIMIT])
    newest = Subquery(qs.model.objects.order_by("-pk").values("pk")[:1])
    recent = list(
        qs.alias(scan=SearchVector(*fields, Value(""), config="simple"))
        .filter(scan=_prefix_tsquery(words), pk__gte=newest - RECENT_WINDOW)
        .order_by("-pk")[:SEARCH_LIMIT]
    )
    if len(recent) == SEARCH_LIMIT:
        return recent
    return list(qs.alias(**annotations).filter(cond).order_by(NEWEST)[:SEARCH_LIMIT])


def search(q: str) -> SearchResults:
    """Ticket references, customers and the text of tickets (subject, description) and comments.

    Each group holds at most ``SEARCH_LIMIT`` rows, newest first; ticket text and comments take one
    or two queries each (``_newest_matching``): GIN indexes over ``to_tsvector('simple', …)``."""
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
    if not words or phone_candidates(q) or "@" in q:  # a phone or an address names a customer
        return results
    results.tickets = _newest_matching(
        Ticket.objects.select_related("customer"), words, ("subject", "description")
    )
    results.comments = _newest_matching(
        TicketEvent.objects.filter(kind__in=COMMENT_KINDS).select_related(
            "ticket", "ticket__customer", "actor"
        ),
        words,
        ("body",),
    )
    return results


def saved_views_for(user) -> list:
    """The queue tabs a user sees: their own views and those shared with the team (one query)."""
    return list(
        SavedView.objects.filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
        .only("name", "query", "shared", "owner_id", "owner__username")
    )
