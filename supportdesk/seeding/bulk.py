"""The bulk loader: ``load_scale_data(customers=N)`` writes N generated customers with phones,
subscriptions and about as many tickets (COPY on PostgreSQL, batched INSERTs elsewhere). The
matching and queue benchmarks reuse it. Re-running tops up to N instead of duplicating.

Bulk tickets skip the services on purpose: a million ``ticket_open`` calls would take hours, and
they are history (mostly closed) rather than events anybody must be told about.
"""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from customers.models import Customer, CustomerPhone, Subscription
from supportdesk.seeding.catalogue import COUNTRIES, EQUIPMENT_FOR_SERVICE, ensure_catalogue
from supportdesk.seeding.words import (
    ASCII_FOLD,
    CATEGORY_WEIGHTS,
    CHANNEL_WEIGHTS,
    CONNECTION_WEIGHTS,
    DESCRIPTIONS,
    FIRST_NAMES,
    LAST_NAMES,
    MAIL_DOMAINS,
    OPEN_STATUS_WEIGHTS,
    PRIORITY_WEIGHTS,
    STREETS,
    SUBJECTS,
)
from tickets import sla
from tickets.models import Ticket

Out = Callable[[str], None]


def quiet(_msg: str) -> None:
    """The default ``stdout``: say nothing."""


def _cumulative(pairs: Sequence[tuple[object, float]]) -> tuple[list, list[float]]:
    values, cum, total = [], [], 0.0
    for value, weight in pairs:
        total += weight
        values.append(value)
        cum.append(total)
    return values, cum


class _Picker:
    """Weighted choice with pre-computed cumulative weights (random.choices recomputes them)."""

    def __init__(self, pairs: Sequence[tuple[object, float]]) -> None:
        import bisect

        self._values, self._cum = _cumulative(pairs)
        self._total = self._cum[-1]
        self._bisect = bisect.bisect

    def __call__(self, rnd: random.Random):
        return self._values[self._bisect(self._cum, rnd.random() * self._total)]


SCALE_NUMBER_PREFIX = "2"  # generated customers are 2000000001, 2000000002, …; named demo ones 10000xx
SCALE_NUMBER_DIGITS = 9


@dataclass
class ScaleResult:
    customers: int = 0
    phones: int = 0
    subscriptions: int = 0
    tickets: int = 0
    seconds: float = 0.0
    skipped: int = 0  # customers already there from an earlier run

    def summary(self) -> str:
        return (
            f"{self.customers:,} customers, {self.phones:,} phones, {self.subscriptions:,} subscriptions, "
            f"{self.tickets:,} tickets in {self.seconds:.1f} s"
            + (f" ({self.skipped:,} customers were already there)" if self.skipped else "")
        )


class _Table:
    """Rows for one model, in a fixed column order, written by COPY or batched INSERT.

    Columns not listed take their model default (a constant) or NULL, so a field another app adds
    later with a default does not break the loader.
    """

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        self.model = model
        self.table = model._meta.db_table
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        self.columns = list(columns)
        extra = []
        for f in model._meta.concrete_fields:
            if f.attname in self.columns:
                continue
            if f.has_default():
                self.columns.append(f.column)
                value = f.get_default()
                # COPY takes plain values (_copy_line turns dicts into JSON); INSERT takes the
                # driver's adapted ones.
                extra.append(
                    value if connection.vendor == "postgresql" else f.get_db_prep_save(value, connection)
                )
            elif not f.null and getattr(f, "db_default", models.NOT_PROVIDED) is models.NOT_PROVIDED:
                raise RuntimeError(
                    f"{model.__name__}.{f.name} needs a value: teach supportdesk/seeding/bulk.py"
                )
        self.columns = [by_attname[c].column if c in by_attname else c for c in self.columns]
        self.extra = tuple(extra)
        self.rows: list[tuple] = []

    def add(self, *values) -> None:
        self.rows.append(values + self.extra if self.extra else values)

    def flush(self, cursor) -> int:
        n = len(self.rows)
        if not n:
            return 0
        cols = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        table = connection.ops.quote_name(self.table)
        if connection.vendor == "postgresql":
            buf = io.StringIO()
            buf.writelines(map(_copy_line, self.rows))
            buf.seek(0)
            sql = f"COPY {table} ({cols}) FROM STDIN"
            raw = cursor.cursor  # the driver's cursor under Django's wrapper
            if hasattr(raw, "copy_expert"):  # psycopg2
                raw.copy_expert(sql, buf)
            else:  # psycopg 3
                with raw.copy(sql) as copy:
                    copy.write(buf.getvalue())
        else:
            marks = ", ".join(["%s"] * len(self.columns))
            cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", self.rows)
        self.rows = []
        return n


def _copy_str(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


# COPY text format per Python type: one dict look-up per value (this loop is a third of the load).
_COPY_FORMAT: dict[type, Callable[[Any], str]] = {
    str: _copy_str,
    int: str,
    float: repr,
    bool: lambda v: "t" if v else "f",
    type(None): lambda _v: "\\N",
    datetime: datetime.isoformat,
    date: date.isoformat,
}


def _copy_fallback(value) -> str:
    if isinstance(value, str):
        return _copy_str(value)
    if isinstance(value, (dict, list)):
        return _copy_str(json.dumps(value))
    return _copy_str(str(value))


def _copy_line(row: tuple) -> str:
    get = _COPY_FORMAT.get
    return "\t".join([get(type(v), _copy_fallback)(v) for v in row]) + "\n"


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


@contextmanager
def _row_checks_skipped(cursor) -> Iterator[None]:
    """On PostgreSQL, skip the per-row foreign-key triggers while this block writes (as pg_restore
    does): they were a third of the load time, and the generated ids are consistent by
    construction. Needs a superuser; anyone else keeps the checks, just slower. Switched back at
    the end of the block, so a caller's own writes in an enclosing transaction are checked."""
    if connection.vendor != "postgresql":
        yield
        return
    try:
        with transaction.atomic():  # a savepoint, so a refusal does not abort the load
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        yield
        return
    yield
    # Only on success: after an error the enclosing atomic block rolls the setting back itself.
    cursor.execute("SET LOCAL session_replication_role = origin")


@contextmanager
def _indexes_rebuilt_after(
    model_list: Sequence[type[models.Model]], *, enabled: bool, stdout: Out = quiet
) -> Iterator[None]:
    """Drop the secondary indexes of ``model_list``'s tables, run the block, re-create them — in
    one transaction, so an error or a kill leaves every index in place. Primary keys and indexes
    backing a constraint (unique, exclusion) stay and keep checking."""
    if not enabled or connection.vendor != "postgresql":
        yield
        return
    tables = [m._meta.db_table for m in model_list]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[])
              AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            [tables],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")  # name comes from regclass::text: already quoted
        yield
        started = time.monotonic()
        for _, definition in indexes:
            cursor.execute(definition)
        stdout(f"  rebuilt {len(indexes)} indexes in {time.monotonic() - started:.1f} s")


def _reset_sequences(cursor, model_list: Iterable[type[models.Model]]) -> None:
    # Ids were given explicitly; move each sequence past them so the ORM's next insert works.
    for sql in connection.ops.sequence_reset_sql(no_style(), list(model_list)):
        cursor.execute(sql)


def load_scale_data(
    *,
    customers: int,
    open_share: float = 0.17,
    tickets_per_customer: float = 1.0,
    days: int = 90,
    seed: int = 20260101,
    chunk: int = 50_000,
    now: datetime | None = None,
    rebuild_indexes: bool | None = None,
    stdout: Out = quiet,
) -> ScaleResult:
    """Make sure ``customers`` generated customers exist, with phones, subscriptions and tickets.

    Tickets copy their effective service/area/equipment from a subscription, are spread over the
    last ``days`` days, ``open_share`` of them open (recent ones, mostly), the rest resolved or
    closed; queue follows the category. Writes one chunk per transaction, with explicit ids
    (PostgreSQL: COPY; other databases: batched INSERT). Idempotent: customers already loaded
    (counted by their number prefix) are kept and only the missing ones are added. Not safe to run
    twice at the same time on one database.

    ``rebuild_indexes`` (default: when adding 50,000 customers or more, PostgreSQL only) drops the
    four tables' secondary indexes, loads, and builds them again, all in one transaction: building
    an index once is much cheaper than maintaining a dozen of them row by row.
    """
    started = time.monotonic()
    now = now or timezone.now()
    cat = ensure_catalogue()
    result = ScaleResult()
    existing = Customer.objects.filter(number__startswith=SCALE_NUMBER_PREFIX).count()
    result.skipped = min(existing, customers)
    if existing >= customers:
        result.seconds = time.monotonic() - started
        return result

    leaf_pick = {
        country: _Picker([(i, w) for i, (_a, c, _s, w) in enumerate(cat.leaves) if c == country])
        for country in COUNTRIES
    }
    country_pick = _Picker((("se", 60), ("fi", 40)))
    lang_pick = {"se": _Picker((("sv", 90), ("en", 10))), "fi": _Picker((("fi", 80), ("sv", 12), ("en", 8)))}
    equip_pick = {s: _Picker(w) for s, w in EQUIPMENT_FOR_SERVICE.items()}
    category_pick = _Picker(CATEGORY_WEIGHTS)
    channel_pick = _Picker(CHANNEL_WEIGHTS)
    priority_pick = _Picker(PRIORITY_WEIGHTS)
    open_status_pick = _Picker(OPEN_STATUS_WEIGHTS)
    sv_ids = {code: s.pk for code, s in cat.services.items()}
    eq_ids = {code: e.pk for code, e in cat.equipment.items()}
    queue_for = {str(k): str(v) for k, v in Ticket.QUEUE_FOR_CATEGORY.items()}
    contact_pick = _Picker((("email", 70), ("sms", 20), ("phone", 10)))
    span = timedelta(days=days).total_seconds()

    customers_t = _Table(
        Customer, ["id", "number", "name", "email", "language", "preferred_channel", "user_id", "created_at"]
    )
    phones_t = _Table(CustomerPhone, ["id", "customer_id", "number"])
    subs_t = _Table(
        Subscription,
        [
            "id",
            "customer_id",
            "service_id",
            "area_id",
            "equipment_id",
            "plan",
            "address",
            "active",
            "started_at",
        ],
    )
    ticket_cols = [
        "id", "customer_id", "subscription_id", "channel", "category", "service_id", "service_source",
        "area_id", "equipment_id", "subject", "description", "status", "priority", "queue", "assignee_id",
        "created_at", "updated_at", "sla_due_at", "sla_breached", "resolved_at",
    ]  # fmt: skip
    tickets_t = _Table(Ticket, ticket_cols)

    index = existing
    bulk_models = (Customer, CustomerPhone, Subscription, Ticket)
    if rebuild_indexes is None:
        rebuild_indexes = customers - existing >= 50_000
    with _indexes_rebuilt_after(bulk_models, enabled=rebuild_indexes, stdout=stdout):
        while index < customers:
            end = min(customers, index + chunk)
            rnd = random.Random(seed * 1_000_003 + index)  # noqa: S311 - demo data, not secrets
            with transaction.atomic(), connection.cursor() as cursor, _row_checks_skipped(cursor):
                cust_id, phone_id = _next_id(Customer), _next_id(CustomerPhone)
                sub_id, ticket_id = _next_id(Subscription), _next_id(Ticket)
                for i in range(index + 1, end + 1):
                    country = country_pick(rnd)
                    area, _c, available, _w = cat.leaves[leaf_pick[country](rnd)]
                    lang = lang_pick[country](rnd)
                    first, last = rnd.choice(FIRST_NAMES[country]), rnd.choice(LAST_NAMES[country])
                    email = f"{first}.{last}{i % 1000}@{MAIL_DOMAINS[i % 3]}".lower().translate(ASCII_FOLD)
                    joined = now - timedelta(days=rnd.randint(30, 8 * 365))
                    customers_t.add(
                        cust_id,
                        f"{SCALE_NUMBER_PREFIX}{i:0{SCALE_NUMBER_DIGITS}d}",
                        f"{first} {last}",
                        email,
                        lang,
                        contact_pick(rnd),
                        None,
                        joined,
                    )
                    # E.164 mobile numbers, unique per generated customer.
                    mobile = f"+4670{i:07d}" if country == "se" else f"+35840{i:07d}"
                    phones_t.add(phone_id, cust_id, mobile)
                    phone_id += 1

                    # One connection, then add-ons, only where the area offers them (story 5).
                    wanted = [_pick_connection(rnd, available)]
                    if "email" in available and rnd.random() < 0.4:
                        wanted.append("email")
                    if "iptv" in available and wanted[0] in ("broadband", "dsl") and rnd.random() < 0.25:
                        wanted.append("iptv")
                    if "voip" in available and rnd.random() < 0.1:
                        wanted.append("voip")
                    plan = "business" if rnd.random() < 0.08 else "private"
                    street = f"{rnd.choice(STREETS[country])} {rnd.randint(1, 120)}"
                    subs = []
                    for service in wanted:
                        equipment = equip_pick[service](rnd)
                        eq_id = eq_ids[equipment] if equipment else None
                        subs_t.add(
                            sub_id,
                            cust_id,
                            sv_ids[service],
                            area.pk,
                            eq_id,
                            plan,
                            street,
                            rnd.random() < 0.97,
                            (joined + timedelta(days=rnd.randint(0, 20))).date(),
                        )
                        subs.append((sub_id, service, eq_id))
                        sub_id += 1

                    # About ``tickets_per_customer`` tickets each (0, 1 or 2, and now and then 3).
                    n_tickets = int(tickets_per_customer) + (rnd.random() < tickets_per_customer % 1)
                    if rnd.random() < 0.25:
                        n_tickets += 1 if rnd.random() < 0.5 else -1
                    for _ in range(max(0, n_tickets)):
                        sub, service, eq_id = rnd.choice(subs)
                        category = category_pick(rnd)
                        subject = rnd.choice(SUBJECTS[service if category == "technical" else category][lang])
                        priority = priority_pick(rnd)
                        is_open = rnd.random() < open_share
                        if is_open:
                            # Open tickets are young: most from the last days, a tail up to three weeks.
                            created = now - timedelta(seconds=min(span, rnd.expovariate(1 / (3 * 86400))))
                            status = open_status_pick(rnd)
                            resolved_at = None
                        else:
                            created = now - timedelta(seconds=rnd.random() * span)
                            status = "closed" if rnd.random() < 0.8 else "resolved"
                            resolved_at = min(now, created + timedelta(hours=rnd.expovariate(1 / 30) + 0.2))
                        queue = "second-line" if status == "escalated" else queue_for[category]
                        due = sla.sla_due(opened_at=created, priority=priority, plan=plan)
                        breached = (resolved_at or now) > due
                        tickets_t.add(
                            ticket_id,
                            cust_id,
                            sub,
                            channel_pick(rnd),
                            category,
                            sv_ids[service],
                            "subscription",
                            area.pk,
                            eq_id,
                            subject,
                            rnd.choice(DESCRIPTIONS[lang]),
                            status,
                            priority,
                            queue,
                            None,
                            created,
                            resolved_at or created,
                            due,
                            breached,
                            resolved_at,
                        )
                        ticket_id += 1
                    cust_id += 1
                result.customers += customers_t.flush(cursor)
                result.phones += phones_t.flush(cursor)
                result.subscriptions += subs_t.flush(cursor)
                result.tickets += tickets_t.flush(cursor)
                _reset_sequences(cursor, (Customer, CustomerPhone, Subscription, Ticket))
            index = end
            stdout(f"  … {index:,} / {customers:,} customers ({time.monotonic() - started:.1f} s)")
    if connection.vendor == "postgresql":
        # Fresh statistics, or the planner guesses from an empty table on the first queue page.
        with connection.cursor() as cursor:
            for model in (Customer, CustomerPhone, Subscription, Ticket):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    result.seconds = time.monotonic() - started
    return result


def _pick_connection(rnd: random.Random, available: tuple[str, ...]) -> str:
    options = [(s, w) for s, w in CONNECTION_WEIGHTS if s in available]
    values, cum = _cumulative(options)
    x = rnd.random() * cum[-1]
    for value, c in zip(values, cum, strict=True):
        if x < c:
            return value
    return values[-1]
