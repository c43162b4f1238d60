"""Named reads of tickets: who may see which, queues, waiting times."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from core.roles import CUSTOMER, has_role, is_staff_member
from customers.models import Customer
from customers.phones import phone_candidates
from tickets.extensions import extensions
from tickets.models import InboundMessage, Ticket

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


def quarantine_page(limit: int = 100) -> tuple[list[InboundMessage], int]:
    """Quarantined e-mail, newest first (raw bytes deferred: the list needs none), and how many wait."""
    rows = InboundMessage.objects.filter(status=InboundMessage.Status.QUARANTINED)
    return list(rows.defer("raw").order_by("-received_at", "-id")[:limit]), rows.count()
