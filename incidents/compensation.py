"""Compensation: credits owed to subscribers for a resolved outage, and reading them.

Policy (``CompensationPolicy``, edited in admin): per service and plan, a minimum outage, an amount
per *started* day and an optional cap. At the resolve of an incident of kind ``outage``,
``credits_compute`` writes one ``Credit`` per active subscription in the incident's scope
(``matching.Scope.of(incident).subscriptions()``) that has a policy for its service and plan and
whose outage reached the policy's minimum. The duration is the real one: ``resolved_at - started_at``.

Set-based: one ``INSERT … SELECT … ON CONFLICT (incident, subscription) DO UPDATE`` whatever the
number of subscriptions. Running it again writes the same values (idempotent); after a reopen and a
second resolve it rewrites the amounts from the longer duration rather than adding a second credit.
An incident that still needs a scope (monitoring could not tell where) covers nobody and so credits
nobody: an empty scope would otherwise mean every subscriber.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Max, Sum
from django.utils import timezone

from customers.models import Customer
from incidents import matching
from incidents.models import CompensationPolicy, Credit, Incident

SECONDS_PER_DAY = 86400


def outage_minutes(incident: Incident) -> int:
    """Whole minutes between the start and the resolution (0 if not resolved)."""
    if incident.resolved_at is None:
        return 0
    return max(0, int((incident.resolved_at - incident.started_at).total_seconds() // 60))


def started_days(incident: Incident) -> int:
    """Days begun during the outage: 1 minute is 1 day, 24 h 1 min is 2 days."""
    if incident.resolved_at is None:
        return 0
    seconds = (incident.resolved_at - incident.started_at).total_seconds()
    return max(0, math.ceil(seconds / SECONDS_PER_DAY))


def credits_compute(incident: Incident) -> int:
    """Write the credits of a resolved outage; returns how many rows were written or rewritten.

    Call inside the resolving transaction (``incidents.services.incident_resolve`` does), after
    ``resolved_at`` is set. Other kinds, unresolved incidents and held scopes write nothing.
    """
    if incident.kind != Incident.Kind.OUTAGE or incident.resolved_at is None:
        return 0
    scope = matching.Scope.of(incident)
    if scope.held:
        return 0
    days = started_days(incident)
    minutes = outage_minutes(incident)
    if days == 0:
        return 0
    subscriptions = scope.subscriptions().values("id", "customer_id", "service_id", "plan")
    sub_sql, sub_params = subscriptions.query.sql_with_params()
    q = connection.ops.quote_name
    credit, policy = Credit._meta.db_table, CompensationPolicy._meta.db_table
    # The amount is days × rate, capped; written as CASE so PostgreSQL and SQLite both run it.
    statement = f"""
        INSERT INTO {q(credit)} (incident_id, subscription_id, customer_id, policy_id,
                                 outage_minutes, days, amount, currency, created_at)
        SELECT %s, s.id, s.customer_id, p.id, %s, %s,
               CASE WHEN p.cap IS NOT NULL AND p.amount_per_day * %s > p.cap
                    THEN p.cap ELSE p.amount_per_day * %s END,
               p.currency, %s
        FROM ({sub_sql}) AS s
        JOIN {q(policy)} AS p ON p.service_id = s.service_id AND p.plan = s.plan
        WHERE p.min_outage_minutes <= %s
        ON CONFLICT (incident_id, subscription_id) DO UPDATE SET
            policy_id = excluded.policy_id, outage_minutes = excluded.outage_minutes,
            days = excluded.days, amount = excluded.amount, currency = excluded.currency
    """
    # In placeholder order: the SELECT list, the sub-select's own, then the WHERE.
    params = [incident.pk, minutes, days, days, days, timezone.now(), *sub_params, minutes]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


# --- reading -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditSummary:
    count: int
    totals: dict[str, Decimal]  # currency → total

    @property
    def total_text(self) -> str:
        return ", ".join(f"{amount} {currency}" for currency, amount in sorted(self.totals.items()))


def credits_summary(incident: Incident) -> CreditSummary:
    """How many credits the incident gave and their total per currency. One query."""
    rows = (
        Credit.objects.filter(incident=incident)
        .values("currency")
        .annotate(n=Count("id"), total=Sum("amount"))
    )
    rows = list(rows.order_by("currency"))
    return CreditSummary(count=sum(r["n"] for r in rows), totals={r["currency"]: r["total"] for r in rows})


@dataclass(frozen=True)
class CustomerCredit:
    """What one customer gets for one incident, for the customer's resolve message."""

    amount: Decimal
    currency: str
    days: int
    subscriptions: int


def credits_for_customers(*, incident: Incident, customer_ids: list[int]) -> dict[int, CustomerCredit]:
    """Each listed customer's credit for the incident (summed over their affected subscriptions).

    One query for any number of customers (the outbox renders "it's fixed" mails in chunks). A
    customer's subscriptions share a currency in practice (one country's policies); should they
    not, the currency covering most subscriptions is given.
    """
    rows = (
        Credit.objects.filter(incident=incident, customer_id__in=customer_ids)
        .values("customer_id", "currency")
        .annotate(total=Sum("amount"), n=Count("id"), days=Max("days"))
        .order_by("customer_id", "-n", "currency")
    )
    credits: dict[int, CustomerCredit] = {}
    for row in rows:
        credits.setdefault(
            row["customer_id"],
            CustomerCredit(
                amount=row["total"], currency=row["currency"], days=row["days"], subscriptions=row["n"]
            ),
        )
    return credits


def credit_for(*, incident: Incident, customer: Customer) -> CustomerCredit | None:
    """The customer's credit for the incident, or None. One query."""
    return credits_for_customers(incident=incident, customer_ids=[customer.pk]).get(customer.pk)


def credits_of(incident: Incident):
    """The incident's credits with what a list or export shows of them, in a stable order."""
    return (
        Credit.objects.filter(incident=incident)
        .select_related("customer", "subscription", "subscription__service", "subscription__area")
        .order_by("id")
    )


CSV_HEADER = [
    "incident",
    "customer_number",
    "customer_name",
    "subscription",
    "service",
    "plan",
    "area",
    "outage_minutes",
    "days",
    "amount",
    "currency",
]


class _Echo:
    """A file-like object whose write returns what it was given (for csv.writer + streaming)."""

    def write(self, value: str) -> str:
        return value


def credits_csv_rows(incident: Incident, *, chunk_size: int = 2000) -> Iterator[str]:
    """The billing export as CSV lines, read in chunks (memory stays flat for 100,000 credits)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    rows = credits_of(incident).values_list(
        "incident_id",
        "customer__number",
        "customer__name",
        "subscription_id",
        "subscription__service__code",
        "subscription__plan",
        "subscription__area__code",
        "outage_minutes",
        "days",
        "amount",
        "currency",
    )
    for row in rows.iterator(chunk_size=chunk_size):
        yield writer.writerow([_cell(value) for value in row])


def _cell(value):
    """Spreadsheets run a cell starting with = + - @ as a formula: quote such text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
