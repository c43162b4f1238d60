"""State changes of tickets. Every view, API class, task and command goes through these.

Each service runs in one transaction, writes the ticket's timeline entry with the change, and
announces matching-relevant changes through ``tickets.signals.ticket_changed`` (inside the
transaction, so an incident link commits with the ticket).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, DateTimeField, ExpressionWrapper, F, QuerySet, Value, When
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.errors import DomainError, Stale
from core.i18n import text_in
from core.languages import LANGUAGE_CODES
from core.roles import is_staff_member
from customers.models import Area, Customer, EquipmentModel, Service, Subscription
from tickets import attachments, intake, lexicon, macros, sla
from tickets.extensions import extensions
from tickets.models import Attachment, InboundMessage, Macro, SavedView, Ticket, TicketEvent
from tickets.signals import ticket_changed, ticket_commented, tickets_replied

# What ``ticket_lock`` re-reads: the fields a change decides on. Foreign keys are read as ids, so a
# cached related object (the customer a view already loaded) survives unless its id moved.
LOCKED_FIELDS = (
    "status", "queue", "assignee_id", "customer_id", "service_id", "area_id", "equipment_id",
    "keep_open", "needs_attention", "resolved_at", "sla_due_at", "sla_breached", "updated_at",
)  # fmt: skip


def ticket_lock(ticket: Ticket, *, version: str | None = None) -> Ticket:
    """Lock the ticket's row until the transaction ends and bring ``ticket`` up to date with it.

    Every change of a single ticket starts here, so concurrent changes queue behind each other and
    each decides on the current state (an escalation racing a claim cannot leave an "open" ticket in
    second line's queue). With ``version``, the ``Ticket.version`` its caller saw, a change that
    somebody else's has overtaken is refused with ``Stale``, naming what changed."""
    row = Ticket.objects.select_for_update().filter(pk=ticket.pk).values(*LOCKED_FIELDS).first()
    if row is None:
        raise DomainError(_("This ticket no longer exists."))
    for name, value in row.items():
        if name.endswith("_id") and getattr(ticket, name) != value:
            ticket._state.fields_cache.pop(name[:-3], None)  # the cached object is another one now
        setattr(ticket, name, value)
    if version is not None and version != ticket.version:
        changes = ticket_changes_since(ticket, version)
        raise Stale(
            _("Someone changed this ticket after you opened it, so nothing was saved: %(changes)s.")
            % {"changes": "; ".join(changes) or _("its details were updated")},
            changes=changes,
        )
    return ticket


def _version_time(version: str) -> datetime | None:
    if not (version.isascii() and version.isdigit() and len(version) <= 18):
        return None
    return datetime(1970, 1, 1, tzinfo=dt_timezone.utc) + timedelta(microseconds=int(version))


def ticket_changes_since(ticket: Ticket, version: str) -> list[str]:
    """What happened to the ticket after ``version``, one line per timeline entry, oldest first,
    each naming who and when (in the reader's zone, named)."""
    since = _version_time(version)
    if since is None:
        return []
    lines = []
    changes = (
        TicketEvent.objects.filter(ticket=ticket, created_at__gt=since)
        .exclude(kind=TicketEvent.Kind.NOTIFICATION)  # a mail going out changes nothing on the ticket
        .select_related("actor")
    )
    for event in changes[:10]:
        who = (event.actor.get_full_name() or event.actor.get_username()) if event.actor else _("the desk")
        if event.kind == TicketEvent.Kind.ASSIGNED:
            to = (event.data or {}).get("assignee")
            what = (
                _("%(who)s gave it to %(to)s") % {"who": who, "to": to}
                if to
                else _("%(who)s put it back in the queue") % {"who": who}
            )
        elif event.kind == TicketEvent.Kind.STATUS:
            status = Ticket.Status((event.data or {}).get("to", Ticket.Status.OPEN)).label
            what = _("%(who)s set the status to %(status)s") % {"who": who, "status": status}
        else:
            what = _("%(what)s by %(who)s") % {"what": event.get_kind_display(), "who": who}
        when = date_format(timezone.localtime(event.created_at), "H:i T")
        lines.append(f"{what} ({when})")
    return lines


def timeline_record(
    *,
    ticket: Ticket,
    kind: str,
    actor=None,
    public: bool = False,
    body: str = "",
    data: dict | None = None,
    at=None,
) -> TicketEvent:
    """Write one entry in the ticket's timeline. The only writer of ``TicketEvent`` rows: every app's
    service that changes a ticket records it through here, inside its own transaction."""
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor,
        public=public,
        body=body,
        data=data or {},
        created_at=at or timezone.now(),
    )


def timeline_record_bulk(events: Iterable[TicketEvent]) -> list[TicketEvent]:
    """Write many timeline entries in one INSERT: the set-based sibling of ``timeline_record``, for
    services that change thousands of tickets at once (an incident's update or resolution)."""
    return TicketEvent.objects.bulk_create(list(events), batch_size=5000)


def tickets_reply_bulk(
    *,
    tickets: QuerySet[Ticket],
    texts_by_language: dict[str, str],
    actor=None,
    at=None,
    data: dict | None = None,
    touch: bool = True,
) -> list[int]:
    """A public reply on every ticket of ``tickets``, each in its customer's language (``text_in``:
    that language, else English, else any); ``data`` plus the language chosen goes in each entry.
    Set-based: on PostgreSQL one INSERT…SELECT (elsewhere one read and one bulk INSERT), whatever the
    number of tickets; no status change (a broadcast is not an agent taking the ticket). ``touch``
    bumps the tickets' ``updated_at`` (skip it when the caller updates them anyway). Returns the ids
    of the tickets replied to. Runs inside the caller's transaction."""
    at = at or timezone.now()
    texts = {lang: text_in(texts_by_language, lang) for lang in LANGUAGE_CODES}
    if not any(texts.values()):
        raise DomainError(_("Write a message in at least one language."), field="message")
    writer = _replies_sql if connection.vendor == "postgresql" else _replies_orm
    ids = writer(tickets=tickets, texts=texts, actor=actor, at=at, data=dict(data or {}))
    if ids and touch:
        Ticket.objects.filter(pk__in=ids).update(updated_at=at)
    return ids


def _replies_sql(*, tickets: QuerySet[Ticket], texts: dict, actor, at, data: dict) -> list[int]:
    # Python never sees the rows: 10,000 replies cost one statement, not 10,000 model instances.
    which, which_params = _ticket_ids_subquery(tickets)
    cases = " ".join("WHEN %s THEN %s" for _lang in texts)
    case_params = [v for lang, text in texts.items() for v in (lang, text)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {TicketEvent._meta.db_table} (ticket_id, kind, actor_id, public, body, data, created_at)
            SELECT t.id, %s, %s, true, CASE c.language {cases} ELSE %s END,
                   %s::jsonb || jsonb_build_object('language', CASE WHEN c.language IN %s THEN c.language
                                                                    ELSE 'en' END),
                   %s
            FROM {Ticket._meta.db_table} t JOIN {Customer._meta.db_table} c ON c.id = t.customer_id
            WHERE t.id IN ({which})
            RETURNING ticket_id
            """,
            [
                TicketEvent.Kind.REPLY,
                actor.pk if actor is not None else None,
                *case_params,
                texts.get("en") or next(t for t in texts.values() if t),
                json.dumps(data),
                tuple(texts),
                at,
                *which_params,
            ],
        )
        return [row[0] for row in cursor.fetchall()]


def _replies_orm(*, tickets: QuerySet[Ticket], texts: dict, actor, at, data: dict) -> list[int]:
    rows = list(tickets.order_by().values_list("pk", "customer__language"))
    fallback = texts.get("en") or next(t for t in texts.values() if t)
    timeline_record_bulk(
        TicketEvent(
            ticket_id=pk,
            kind=TicketEvent.Kind.REPLY,
            actor=actor,
            public=True,
            body=texts.get(language) or fallback,
            data=dict(data, language=language if language in texts else "en"),
            created_at=at,
        )
        for pk, language in rows
    )
    return [pk for pk, _language in rows]


def _ticket_ids_subquery(tickets: QuerySet[Ticket]) -> tuple[str, tuple]:
    sql, params = tickets.order_by().values("pk").query.sql_with_params()
    return sql, tuple(params)


def tickets_resolve_bulk(
    *, ticket_ids: Iterable[int], actor=None, at=None, data: dict | None = None
) -> list[int]:
    """Resolve the open tickets among ``ticket_ids``, each with a status entry (``data`` joined to it,
    e.g. the incident that resolved them); tickets no longer open are left alone. Set-based: on
    PostgreSQL one statement (UPDATE … RETURNING feeding the INSERT of the entries), elsewhere a read,
    an UPDATE and a bulk INSERT. Returns the ids resolved. Runs inside the caller's transaction."""
    at = at or timezone.now()
    ticket_ids = list(ticket_ids)
    if not ticket_ids:
        return []
    writer = _resolve_sql if connection.vendor == "postgresql" else _resolve_orm
    return writer(ticket_ids=ticket_ids, actor=actor, at=at, data=dict(data or {}))


def _resolve_sql(*, ticket_ids: list[int], actor, at, data: dict) -> list[int]:
    table = Ticket._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH before AS (
                SELECT id, status FROM {table} WHERE id = ANY(%s) AND status IN %s
            ), resolved AS (
                -- The UPDATE re-checks "still open" on each row it locks (READ COMMITTED re-evaluates
                -- the WHERE on a row changed meanwhile); no separate FOR UPDATE pass over the rows.
                UPDATE {table} t SET status = %s, resolved_at = %s, updated_at = %s, needs_attention = false
                FROM before WHERE t.id = before.id AND t.status IN %s
                RETURNING t.id, before.status AS was
            )
            INSERT INTO {TicketEvent._meta.db_table} (ticket_id, kind, actor_id, public, body, data, created_at)
            SELECT id, %s, %s, true, '', %s::jsonb || jsonb_build_object('from', was, 'to', %s), %s
            FROM resolved
            RETURNING ticket_id
            """,
            [
                ticket_ids,
                tuple(Ticket.OPEN_STATUSES),
                Ticket.Status.RESOLVED,
                at,
                at,
                tuple(Ticket.OPEN_STATUSES),
                TicketEvent.Kind.STATUS,
                actor.pk if actor is not None else None,
                json.dumps(data),
                Ticket.Status.RESOLVED,
                at,
            ],
        )
        return [row[0] for row in cursor.fetchall()]


def _resolve_orm(*, ticket_ids: list[int], actor, at, data: dict) -> list[int]:
    before = dict(Ticket.objects.open().filter(pk__in=ticket_ids).values_list("pk", "status"))
    if not before:
        return []
    Ticket.objects.open().filter(pk__in=list(before)).update(
        status=Ticket.Status.RESOLVED, resolved_at=at, updated_at=at, needs_attention=False
    )
    timeline_record_bulk(
        TicketEvent(
            ticket_id=pk,
            kind=TicketEvent.Kind.STATUS,
            actor=actor,
            public=True,
            data=dict(data, **{"from": old, "to": Ticket.Status.RESOLVED}),
            created_at=at,
        )
        for pk, old in before.items()
    )
    return list(before)


def tickets_flag_for_attention(*, ticket_ids: Iterable[int], at=None) -> int:
    """Mark tickets for their agent's attention (one UPDATE); returns how many."""
    return Ticket.objects.filter(pk__in=list(ticket_ids)).update(
        needs_attention=True, updated_at=at or timezone.now()
    )


@transaction.atomic
def ticket_set_keep_open(*, ticket: Ticket, keep_open: bool, actor, version: str | None = None) -> Ticket:
    """Say whether an incident's resolution may resolve this ticket (``keep_open``: it may not; the
    customer still gets the resolution reply). An internal note records who decided."""
    ticket_lock(ticket, version=version)
    if ticket.keep_open == keep_open:
        return ticket
    now = timezone.now()
    ticket.keep_open = keep_open
    ticket.updated_at = now
    ticket.save(update_fields=["keep_open", "updated_at"])
    timeline_record(
        ticket=ticket, kind=TicketEvent.Kind.NOTE, actor=actor, at=now, data={"keep_open": keep_open}
    )
    return ticket


@transaction.atomic
def ticket_merge(*, ticket: Ticket, into: Ticket, actor, version: str | None = None) -> Ticket:
    """Join the duplicate ``ticket`` into ``into``, another open ticket of the same customer.

    The duplicate's timeline moves to ``into`` (one UPDATE), so the conversation is kept in one
    place; the duplicate is closed, pointing at ``into``, with an entry saying so on both. The
    customer is told once, by one public reply on ``into`` in their language."""
    if not is_staff_member(actor):
        raise DomainError(_("Only staff can merge tickets."))
    if ticket.pk == into.pk:
        raise DomainError(_("A ticket cannot be merged into itself."), field="into")
    # Both rows locked, always in the same order, so two merges of the pair cannot deadlock.
    first, second = sorted((ticket, into), key=lambda t: t.pk)
    ticket_lock(first, version=version if first is ticket else None)
    ticket_lock(second, version=version if second is ticket else None)
    if ticket.customer_id != into.customer_id:
        raise DomainError(_("Only tickets of the same customer can be merged."), field="into")
    if not ticket.is_open or not into.is_open:
        raise DomainError(_("Both tickets must be open to be merged."), field="into")
    now = timezone.now()
    # A duplicate has a handful of entries: one UPDATE moves them, each marked with where it came from.
    moved = list(TicketEvent.objects.filter(ticket=ticket))
    for event in moved:
        event.ticket, event.data = into, {**(event.data or {}), "merged_from": ticket.reference}
    TicketEvent.objects.bulk_update(moved, ["ticket", "data"])
    Attachment.objects.filter(ticket=ticket).update(ticket=into)  # the files go with their entries
    _set_status(ticket, Ticket.Status.CLOSED, actor, now)
    Ticket.objects.filter(pk=ticket.pk).update(merged_into=into)
    ticket.merged_into = into
    timeline_record(
        ticket=ticket,
        kind=TicketEvent.Kind.MERGED,
        actor=actor,
        public=True,
        at=now,
        data={"into": into.reference},
    )
    timeline_record(
        ticket=into,
        kind=TicketEvent.Kind.MERGED,
        actor=actor,
        public=False,
        at=now,
        data={"from": ticket.reference, "subject": ticket.subject},
    )
    with translation.override(ticket.customer.language):
        told = _(
            "We have joined your request %(duplicate)s (“%(subject)s”) with this one, %(reference)s: "
            "we handle both here, and you only need to answer this one."
        ) % {"duplicate": ticket.reference, "subject": ticket.subject, "reference": into.reference}
    ticket_comment(ticket=into, actor=actor, body=told, public=True, data={"merge_of": ticket.reference})
    return into


# What a bulk action may set (all keep a ticket out of matching's way: open stays open, or it ends).
BULK_STATUSES = (Ticket.Status.PENDING_CUSTOMER, Ticket.Status.RESOLVED, Ticket.Status.CLOSED)
BULK_LIMIT = 1000


def bulk_ids(ticket_ids: Iterable[int]) -> list[int]:
    """The ids of a bulk action, refused when there are more than ``BULK_LIMIT``."""
    ids = list(ticket_ids)
    if len(ids) > BULK_LIMIT:
        raise DomainError(_("Pick at most %(n)d tickets at a time.") % {"n": BULK_LIMIT}, field="tickets")
    return ids


def _lock_open_tickets(ticket_ids: Iterable[int]) -> list[dict]:
    """Lock the open tickets among ``ticket_ids`` (in id order, so two bulk actions cannot deadlock)
    and read what the change decides on; closed ones and unknown ids drop out."""
    ids = bulk_ids(ticket_ids)
    return list(
        Ticket.objects.open()
        .select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values("pk", "status", "assignee_id")
    )


def _bulk_status_entries(rows: list[dict], status: str, actor, now) -> list[TicketEvent]:
    return [
        TicketEvent(
            ticket_id=row["pk"],
            kind=TicketEvent.Kind.STATUS,
            actor=actor,
            public=True,
            created_at=now,
            data={"from": row["status"], "to": status},
        )
        for row in rows
    ]


@transaction.atomic
def tickets_bulk_assign(*, ticket_ids: Iterable[int], assignee, actor) -> int:
    """Give many open tickets to ``assignee`` (None: back to the queue) in one UPDATE, each with its
    timeline entry (one INSERT); new ones taken are opened, as one by one. Returns how many changed."""
    if not is_staff_member(actor):
        raise DomainError(_("Only staff can change tickets."))
    if assignee is not None and not is_staff_member(assignee):
        raise DomainError(_("Tickets can only be assigned to staff."), field="assignee")
    target = assignee.pk if assignee is not None else None
    rows = [row for row in _lock_open_tickets(ticket_ids) if row["assignee_id"] != target]
    if not rows:
        return 0
    now = timezone.now()
    Ticket.objects.filter(pk__in=[row["pk"] for row in rows]).update(assignee=assignee, updated_at=now)
    username = assignee.get_username() if assignee is not None else None
    entries = [
        TicketEvent(
            ticket_id=row["pk"],
            kind=TicketEvent.Kind.ASSIGNED,
            actor=actor,
            created_at=now,
            data={"assignee": username},
        )
        for row in rows
    ]
    taken_new = [row for row in rows if row["status"] == Ticket.Status.NEW] if assignee is not None else []
    if taken_new:
        Ticket.objects.filter(pk__in=[row["pk"] for row in taken_new]).update(status=Ticket.Status.OPEN)
        entries += _bulk_status_entries(taken_new, Ticket.Status.OPEN, actor, now)
    timeline_record_bulk(entries)
    return len(rows)


@transaction.atomic
def tickets_bulk_set_status(*, ticket_ids: Iterable[int], status: str, actor) -> int:
    """Move many open tickets to ``status`` (waiting for the customer, resolved or closed) in one
    UPDATE, each with its status entry (one INSERT). Returns how many changed."""
    if not is_staff_member(actor):
        raise DomainError(_("Only staff can change tickets."))
    if status not in BULK_STATUSES:
        raise DomainError(_("That status cannot be set on many tickets at once."), field="status")
    rows = [row for row in _lock_open_tickets(ticket_ids) if row["status"] != status]
    if not rows:
        return 0
    now = timezone.now()
    Ticket.objects.filter(pk__in=[row["pk"] for row in rows]).update(
        status=status,
        resolved_at=now if status != Ticket.Status.PENDING_CUSTOMER else None,
        needs_attention=False,
        updated_at=now,
    )
    timeline_record_bulk(_bulk_status_entries(rows, status, actor, now))
    return len(rows)


@transaction.atomic
def tickets_bulk_reply(*, ticket_ids: Iterable[int], macro: Macro, actor) -> int:
    """Reply with the canned reply ``macro`` on every open ticket among ``ticket_ids``, each filled
    for its own customer in their language (``tickets.macros.render_many``): what sending the macro
    from each ticket's reply box does, set-based. Each ticket gets a public reply entry; a new one is
    opened (with its status entry, as a staff reply opens it) and none needs attention any more.
    ``tickets_replied`` then has the notifications app queue the customers' e-mail in one statement,
    one row per reply entry and customer (a repeated call writes nothing twice), threaded on the
    ticket as a single reply is. A fixed number of statements whatever the count: one locking read
    of the tickets with their customers (in id order), one query per placeholder that needs data, one
    INSERT of the entries, one UPDATE. Returns how many tickets were replied to."""
    if not is_staff_member(actor):
        raise DomainError(_("Only staff can change tickets."))
    if not macro.active:
        raise DomainError(_("That canned reply is no longer in use."), field="macro")
    tickets = list(
        Ticket.objects.open()
        .select_for_update(of=("self",))
        .filter(pk__in=bulk_ids(ticket_ids))
        .select_related("customer")
        .order_by("pk")
    )
    texts = macros.render_many(macro, tickets, agent=actor)
    tickets = [ticket for ticket in tickets if texts[ticket.pk].strip()]
    if not tickets:
        return 0
    now = timezone.now()
    entries = []
    for ticket in tickets:
        entries.append(
            TicketEvent(
                ticket_id=ticket.pk,
                kind=TicketEvent.Kind.REPLY,
                actor=actor,
                public=True,
                body=texts[ticket.pk].strip(),
                data={"macro": macro.pk},
                created_at=now,
            )
        )
        if ticket.status == Ticket.Status.NEW:  # a staff reply opens a new ticket (ticket_comment)
            entries += _bulk_status_entries(
                [{"pk": ticket.pk, "status": ticket.status}], Ticket.Status.OPEN, actor, now
            )
    timeline_record_bulk(entries)
    Ticket.objects.filter(pk__in=[ticket.pk for ticket in tickets]).update(
        status=Case(When(status=Ticket.Status.NEW, then=Value(Ticket.Status.OPEN)), default=F("status")),
        needs_attention=False,  # the agent has answered
        updated_at=now,
    )
    replies = [entry.pk for entry in entries if entry.kind == TicketEvent.Kind.REPLY]
    tickets_replied.send(sender=Ticket, event_ids=replies, actor=actor)
    return len(tickets)


def _effective_scope(
    *,
    subscription: Subscription | None,
    service: Service | None,
    area: Area | None,
    equipment: EquipmentModel | None,
    subject: str,
    description: str,
    known: list[Subscription] | None = None,
) -> dict:
    """Fill what the ticket does not say from its subscription, and the service from its words.
    ``known``: the customer's subscriptions already read (their services loaded), so a guessed
    service one of them is on needs no query."""
    source = Ticket.Source.GIVEN if service else Ticket.Source.NONE
    if subscription is not None:
        if service is None:
            service, source = subscription.service, Ticket.Source.SUBSCRIPTION
        area = area or subscription.area
        equipment = equipment or subscription.equipment
    if service is None:
        code = lexicon.guess_service_code(subject, description)
        if code:
            service = next((s.service for s in known or () if s.service.code == code), None)
            if service is None:
                service = Service.objects.filter(code=code).first()
        if service is not None:
            source = Ticket.Source.TEXT
    return {"service": service, "service_source": source, "area": area, "equipment": equipment}


# How many of a customer's active subscriptions ``ticket_open`` reads at once to pick the one a
# ticket is about (customers have one to three; more falls back to asking by service).
SUBSCRIPTIONS_READ = 10


def ticket_open(
    *,
    customer: Customer,
    subject: str,
    description: str,
    channel: str,
    actor=None,
    category: str = Ticket.Category.TECHNICAL,
    subscription: Subscription | None = None,
    service: Service | None = None,
    area: Area | None = None,
    equipment: EquipmentModel | None = None,
    priority: int = Ticket.Priority.NORMAL,
    notify_customer: bool | None = None,
) -> Ticket:
    """Open a ticket, routed to its category's queue, with its SLA and an "opened" timeline entry.

    Matching against active incidents happens in the same transaction (``ticket_changed``), so the
    ticket returned is already linked to every incident that explains it. ``notify_customer``: send
    the customer a confirmation e-mail (None: for tickets the customer wrote — web, API, e-mail —
    but not for those an agent opened on the phone or in chat).
    """
    if subscription is not None and subscription.customer_id != customer.pk:
        raise DomainError(_("That subscription belongs to another customer."), field="subscription")
    # One transaction, but no savepoint of its own inside a caller's (two statements fewer per ticket):
    # nothing is written before this point, and an error after it undoes the caller's transaction too.
    with transaction.atomic(savepoint=False):
        # The customer's active subscriptions, read once (at most SUBSCRIPTIONS_READ of them, by id).
        subs: list[Subscription] | None = None
        if subscription is None and service is None:
            # One subscription is unambiguous; with several, the service (given or guessed) picks one.
            subs = list(
                customer.subscriptions.filter(active=True)
                .select_related("service", "area", "equipment")
                .order_by("pk")[: SUBSCRIPTIONS_READ + 1]
            )
            if len(subs) == 1:
                subscription = subs[0]
        now = timezone.now()
        scope = _effective_scope(
            subscription=subscription,
            service=service,
            area=area,
            equipment=equipment,
            subject=subject,
            description=description,
            known=subs if subs is not None and len(subs) <= SUBSCRIPTIONS_READ else None,
        )
        if subscription is None and scope["service"] is not None:
            if subs is not None and len(subs) <= SUBSCRIPTIONS_READ:
                # All of them are in hand: the first on that service, as the query below would pick.
                subscription = next((s for s in subs if s.service_id == scope["service"].pk), None)
            else:
                subscription = (
                    customer.subscriptions.filter(active=True, service=scope["service"])
                    .select_related("area", "equipment")
                    .first()
                )
            if subscription is not None:
                scope["area"] = scope["area"] or subscription.area
                scope["equipment"] = scope["equipment"] or subscription.equipment
        ticket = Ticket.objects.create(
            customer=customer,
            subscription=subscription,
            channel=channel,
            category=category,
            subject=subject,
            description=description,
            priority=priority,
            queue=Ticket.QUEUE_FOR_CATEGORY[category],
            created_at=now,
            updated_at=now,
            sla_due_at=sla.sla_due(
                opened_at=now, priority=priority, plan=subscription.plan if subscription else None
            ),
            **scope,
        )
        timeline_record(
            ticket=ticket,
            kind=TicketEvent.Kind.OPENED,
            actor=actor,
            public=True,
            at=now,
            body=description,
            data={"channel": channel, "service_source": scope["service_source"]},
        )
        ticket_changed.send(
            sender=Ticket, ticket=ticket, created=True, actor=actor, notify_customer=notify_customer
        )
        return ticket


@transaction.atomic
def ticket_comment(
    *,
    ticket: Ticket,
    actor,
    body: str,
    public: bool,
    data: dict | None = None,
    uploads: list[attachments.Upload] | None = None,
) -> TicketEvent:
    """Add a reply (public) or an internal note, with files (``uploads``) kept on the entry: the ones
    that pass ``attachments.check_all``; callers refuse the others first (``attachments.read_uploads``).
    A customer sees a public entry's files; a note's stay with staff (``attachment_download``).
    A staff reply to a new ticket opens it; a customer's message to a ticket waiting for them,
    resolved or closed, re-opens it (back in the queue). Sends ``ticket_commented`` once the files
    are stored (a public staff reply is e-mailed to the customer by the notifications app)."""
    body = body.strip()
    if not body:
        raise DomainError(_("Write something first."), field="body")
    ticket_lock(ticket)  # the status it moves from is the current one
    by_staff = is_staff_member(actor)
    if by_staff:
        kind = TicketEvent.Kind.REPLY if public else TicketEvent.Kind.NOTE
    else:
        kind, public = TicketEvent.Kind.CUSTOMER_MESSAGE, True
    now = timezone.now()
    event = timeline_record(
        ticket=ticket, kind=kind, actor=actor, public=public, body=body, at=now, data=data
    )
    if uploads:
        attachments_add(ticket=ticket, event=event, uploads=uploads, actor=actor)
    new_status = None
    if by_staff and public and ticket.status == Ticket.Status.NEW:
        new_status = Ticket.Status.OPEN
    elif (
        not by_staff
        and ticket.merged_into_id is None  # a merged ticket stays closed: the other one is the live one
        and ticket.status in (Ticket.Status.PENDING_CUSTOMER, Ticket.Status.RESOLVED, Ticket.Status.CLOSED)
    ):
        # A customer writing to a resolved or closed ticket is not done: it goes back to the queue
        # rather than being stored where nobody looks (DESIGN: written intake is first-class).
        new_status = Ticket.Status.OPEN
    if new_status:
        _set_status(ticket, new_status, actor, now)
    touched = {"updated_at": now}
    if by_staff and public:
        touched["needs_attention"] = ticket.needs_attention = False  # the agent has answered
    Ticket.objects.filter(pk=ticket.pk).update(**touched)
    ticket.updated_at = now
    ticket_commented.send(sender=Ticket, ticket=ticket, event=event, actor=actor)
    return event


def _set_status(ticket: Ticket, status: str, actor, now) -> None:
    old = ticket.status
    ticket.status = status
    ticket.resolved_at = now if status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED) else None
    ticket.updated_at = now
    ticket.save(update_fields=["status", "resolved_at", "updated_at"])
    timeline_record(
        ticket=ticket,
        kind=TicketEvent.Kind.STATUS,
        actor=actor,
        public=True,
        at=now,
        data={"from": old, "to": status},
    )


@transaction.atomic
def ticket_set_status(*, ticket: Ticket, status: str, actor, version: str | None = None) -> Ticket:
    """Move a ticket to ``status`` with a status entry in its timeline (already there: nothing
    happens, no entry). Sends ``ticket_changed`` in the same transaction, so a re-opened ticket is
    matched to the active incidents again; a resolved or closed one keeps its links and gains none."""
    if status not in Ticket.Status.values:
        raise DomainError(_("Unknown status."), field="status")
    ticket_lock(ticket, version=version)
    if status == ticket.status:
        return ticket
    if ticket.needs_attention:  # a person has decided what happens to it
        ticket.needs_attention = False
        Ticket.objects.filter(pk=ticket.pk).update(needs_attention=False)
    _set_status(ticket, status, actor, timezone.now())
    ticket_changed.send(sender=Ticket, ticket=ticket, created=False, actor=actor)
    return ticket


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee, actor, version: str | None = None) -> Ticket:
    """Give the ticket to ``assignee``, a staff member (None: back to the queue). Taking a new ticket
    opens it, with its own status entry."""
    if assignee is not None and not is_staff_member(assignee):
        raise DomainError(_("Tickets can only be assigned to staff."), field="assignee")
    ticket_lock(ticket, version=version)
    now = timezone.now()
    ticket.assignee = assignee
    ticket.updated_at = now
    ticket.save(update_fields=["assignee", "updated_at"])
    timeline_record(
        ticket=ticket,
        kind=TicketEvent.Kind.ASSIGNED,
        actor=actor,
        at=now,
        data={"assignee": assignee.get_username() if assignee else None},
    )
    if assignee is not None and ticket.status == Ticket.Status.NEW:
        _set_status(ticket, Ticket.Status.OPEN, actor, now)
    return ticket


@transaction.atomic
def ticket_escalate(
    *, ticket: Ticket, actor, summary: str, tried: str, customer_impact: str = "", version: str | None = None
) -> Ticket:
    """Hand the ticket to second line with a structured hand-over (what is wrong, what was tried)."""
    ticket_lock(ticket, version=version)
    if not ticket.is_open:
        raise DomainError(_("Only open tickets can be escalated."), field="status")
    if not summary.strip() or not tried.strip():
        raise DomainError(
            _("Say what is wrong and what was already tried."),
            field="tried" if summary.strip() else "summary",
        )
    now = timezone.now()
    ticket.queue = Ticket.Queue.SECOND_LINE
    ticket.assignee = None
    ticket.updated_at = now
    ticket.save(update_fields=["queue", "assignee", "updated_at"])
    timeline_record(
        ticket=ticket,
        kind=TicketEvent.Kind.ESCALATED,
        actor=actor,
        at=now,
        body=summary.strip(),
        data={"tried": tried.strip(), "customer_impact": customer_impact.strip()},
    )
    if ticket.status != Ticket.Status.ESCALATED:
        _set_status(ticket, Ticket.Status.ESCALATED, actor, now)
    return ticket


@transaction.atomic
def ticket_change_scope(
    *,
    ticket: Ticket,
    actor,
    service: Service | None = None,
    area: Area | None = None,
    equipment: EquipmentModel | None = None,
    version: str | None = None,
) -> Ticket:
    """Correct what the ticket is about; incident matching runs again in the same transaction."""
    ticket_lock(ticket, version=version)
    fields = []
    for name, value in (("service", service), ("area", area), ("equipment", equipment)):
        if value is not None and getattr(ticket, f"{name}_id") != value.pk:
            setattr(ticket, name, value)
            fields.append(name)
    if not fields:
        return ticket
    if "service" in fields:
        ticket.service_source = Ticket.Source.GIVEN
        fields.append("service_source")
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=[*fields, "updated_at"])
    timeline_record(
        ticket=ticket,
        kind=TicketEvent.Kind.NOTE,
        actor=actor,
        at=ticket.updated_at,
        # The field names are data; the timeline renders them in the reader's language.
        data={"changed": [f for f in fields if f != "service_source"]},
    )
    ticket_changed.send(sender=Ticket, ticket=ticket, created=False, actor=actor)
    return ticket


def tickets_flag_sla_breaches() -> int:
    """Flag every open ticket whose SLA fell due, in one UPDATE; returns how many were newly flagged.
    Tickets whose SLA clock is paused (``extensions.sla_pauses``: e.g. waiting on an active incident)
    are skipped; when the pause ends their due time moves later (``tickets_shift_sla``).

    SLA timers live in the database and are checked periodically, never as long Celery countdowns
    (Redis redelivers countdowns longer than its visibility timeout)."""
    qs = Ticket.objects.open().filter(sla_breached=False, sla_due_at__lt=timezone.now())
    paused = extensions.sla_paused_q()
    if paused is not None:
        qs = qs.exclude(paused)
    return qs.update(sla_breached=True, updated_at=timezone.now())


def tickets_shift_sla(*, tickets: QuerySet[Ticket], by) -> int:
    """Move the SLA due time of the open tickets among ``tickets`` later by ``by``, a duration or a
    duration expression evaluated per ticket row (how long its clock stood still), in one UPDATE.
    Tickets without a due time are left alone. Returns how many moved. Runs in the caller's
    transaction; the caller makes ``by`` positive (``tickets`` may filter on it)."""
    return tickets.filter(status__in=Ticket.OPEN_STATUSES, sla_due_at__isnull=False).update(
        sla_due_at=ExpressionWrapper(F("sla_due_at") + by, output_field=DateTimeField())
    )


def tickets_shift_sla_by(*, shifts_sql: str, params) -> int:
    """PostgreSQL: ``tickets_shift_sla`` with each ticket's shift given by ``shifts_sql``, a SELECT of
    (ticket id, interval) rows, a ticket at most once; rows with no positive interval move nothing.
    One UPDATE … FROM; returns how many tickets moved."""
    table = Ticket._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} t SET sla_due_at = t.sla_due_at + s.shift
            FROM ({shifts_sql}) AS s (ticket_id, shift)
            WHERE t.id = s.ticket_id AND s.shift > interval '0'
                  AND t.status IN %s AND t.sla_due_at IS NOT NULL
            """,
            [*params, tuple(Ticket.OPEN_STATUSES)],
        )
        return cursor.rowcount


# --- attachments -------------------------------------------------------------------------------


def attachments_add(
    *, ticket: Ticket, event: TicketEvent | None, uploads: list[attachments.Upload], actor=None
) -> list[attachments.Verdict]:
    """Keep the files that pass the limits (size, count, sniffed type) with the ticket and the
    timeline entry they came with; returns every file's verdict, the refused ones with the reason.
    The rows commit with the caller's transaction. (The bytes are written to storage at once: a
    rollback leaves an unreferenced file behind, never a row without its file.)"""
    verdicts = attachments.check_all(uploads)
    rows = [
        Attachment(
            ticket=ticket,
            event=event,
            file=ContentFile(upload.data, name=verdict.filename),
            filename=verdict.filename,
            content_type=verdict.content_type,
            size=verdict.size,
            uploaded_by=actor,
        )
        for upload, verdict in zip(uploads, verdicts, strict=True)
        if not verdict.refused
    ]
    for row in rows:
        row.save()
    return verdicts


def _note_refused(*, ticket: Ticket, verdicts: list[attachments.Verdict], at=None) -> None:
    """An internal note naming the files of an e-mail that were not kept, and why."""
    refused = [v for v in verdicts if v.refused]
    if refused:
        timeline_record(
            ticket=ticket,
            kind=TicketEvent.Kind.NOTE,
            at=at,
            body="\n".join(
                _("Attachment not kept: %(name)s (%(size)s bytes) — %(reason)s")
                % {"name": v.filename, "size": v.size, "reason": v.refused}
                for v in refused
            ),
            data={"attachments_refused": [{"filename": v.filename, "reason": v.refused} for v in refused]},
        )


# --- e-mail intake -------------------------------------------------------------------------------


def unknown_sender_customer() -> Customer:
    """The placeholder customer that e-mail from unknown senders is filed under until an agent
    attaches the ticket to the real customer (``Ticket.customer`` is required). It has no e-mail
    address, so nothing is ever mailed to an unknown sender: no backscatter to forged senders."""
    customer, _created = Customer.objects.get_or_create(
        number=settings.INTAKE_UNKNOWN_CUSTOMER_NUMBER,
        defaults={"name": "Unknown e-mail sender", "email": ""},
    )
    return customer


def _customer_for(address: str) -> Customer | None:
    return Customer.objects.filter(email__iexact=address).select_related("user").order_by("pk").first()


def _ticket_for_reply(parsed: intake.ParsedMail) -> Ticket | None:
    """The ticket a reply belongs to: the ``SD-n`` in its subject, else the desk's Message-IDs it
    answers. Only if the sender is that ticket's customer (or wrote the mail that opened it): the
    reference and the id format are easy to guess, so they alone do not let a stranger write into
    someone else's ticket."""
    candidates = []
    if (pk := intake.ticket_id_from_subject(parsed.subject)) is not None:
        candidates.append(pk)
    candidates += intake.ticket_ids_from_message_ids(parsed.in_reply_to)
    for pk in dict.fromkeys(candidates):
        ticket = Ticket.objects.select_related("customer").filter(pk=pk).first()
        if ticket is None:
            continue
        if (ticket.customer.email or "").lower() == parsed.from_address:
            return ticket
        if ticket.inbound_messages.filter(from_address=parsed.from_address).exists():
            return ticket
    return None


def _bounced_ticket(parsed: intake.ParsedMail) -> Ticket | None:
    pks = intake.ticket_ids_from_message_ids(parsed.bounce_of)
    return Ticket.objects.filter(pk__in=pks).first() if pks else None


def _mail_data(row: InboundMessage, parsed: intake.ParsedMail) -> dict:
    return {
        "inbound": row.pk,
        "channel": "email",
        "headers": parsed.headers,
        "attachments": parsed.attachments,
        "trimmed": parsed.text != parsed.full_text.strip(),
    }


def _inbound_process(row: InboundMessage, parsed: intake.ParsedMail) -> None:
    """Turn a parsed message into its effect on tickets, inside the importing transaction."""
    row.from_address = parsed.from_address[:320]
    row.subject = parsed.subject[:500]
    if parsed.from_address in intake.desk_addresses():
        row.status, row.reason = InboundMessage.Status.IGNORED, "sent from the desk's own address"
        return
    if parsed.automatic == "bounce":
        row.status, row.reason = InboundMessage.Status.BOUNCE, parsed.bounce_reason or "delivery failed"
        ticket = _bounced_ticket(parsed)
        if ticket is not None:
            row.ticket = ticket
            timeline_record(
                ticket=ticket,
                kind=TicketEvent.Kind.NOTE,
                body=_("An e-mail to the customer could not be delivered: %(reason)s")
                % {"reason": row.reason},
                data={"delivery_failure": row.reason, "inbound": row.pk},
            )
        return
    if parsed.automatic:
        row.status, row.reason = InboundMessage.Status.IGNORED, parsed.automatic
        return
    body = parsed.text or _("(no text; see the attachments)")
    ticket = _ticket_for_reply(parsed)
    if ticket is not None:
        row.status, row.ticket = InboundMessage.Status.THREADED, ticket
        event = ticket_comment(
            ticket=ticket,
            actor=ticket.customer.user,
            body=body[:20000],
            public=True,
            data=_mail_data(row, parsed),
        )
        verdicts = attachments_add(ticket=ticket, event=event, uploads=parsed.files, actor=event.actor)
        _note_refused(ticket=ticket, verdicts=verdicts)
        return
    customer = _customer_for(parsed.from_address)
    row.sender_unknown = customer is None
    if customer is None:
        customer = unknown_sender_customer()
    ticket = ticket_open(
        customer=customer,
        subject=(parsed.subject or _("(no subject)"))[:200],
        description=body[:20000],
        channel=Ticket.Channel.EMAIL,
        actor=customer.user,
        # Unknown senders are not answered: the address may be forged (backscatter).
        notify_customer=None if not row.sender_unknown else False,
    )
    row.status, row.ticket = InboundMessage.Status.OPENED, ticket
    timeline_record(
        ticket=ticket,
        kind=TicketEvent.Kind.NOTE,
        body=_("Sender unknown: %(address)s. Attach the ticket to the customer.")
        % {"address": parsed.from_address}
        if row.sender_unknown
        else "",
        data={**_mail_data(row, parsed), "sender_unknown": row.sender_unknown, "from": parsed.from_address},
    )
    if parsed.files:
        opened = ticket.events.filter(kind=TicketEvent.Kind.OPENED).order_by("pk").first()
        verdicts = attachments_add(ticket=ticket, event=opened, uploads=parsed.files, actor=customer.user)
        _note_refused(ticket=ticket, verdicts=verdicts)


def _raw_message_id(raw: bytes) -> str | None:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    m = re.search(rb"(?im)^message-id:\s*(<[^<>\s]+>)", head)
    return m.group(1).decode("ascii", "replace") if m else None


def inbound_import(*, raw: bytes, mailbox: str = "") -> InboundMessage | None:
    """Import one raw e-mail exactly once. Returns the new row, or None if its key (Message-ID, else
    a hash of the bytes) was already imported. The row, the ticket and its timeline commit together
    or not at all; a concurrent import of the same message waits on the unique key and then stops.
    A message that cannot be read is kept raw in quarantine with the reason, never half-imported."""
    try:
        parsed, reason = intake.parse(raw), ""
        key = parsed.message_key
    except intake.UnparseableMail as exc:
        parsed, reason = None, str(exc)
        key = intake.message_key(raw, _raw_message_id(raw))
    from_address, subject = intake.peek_headers(raw) if parsed is None else ("", "")
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = InboundMessage.objects.create(
                    message_key=key,
                    raw=raw,
                    mailbox=mailbox[:300],
                    status=InboundMessage.Status.QUARANTINED,
                    reason=reason,
                    from_address=from_address[:320],
                    subject=subject[:500],
                )
        except IntegrityError:
            return None
        if parsed is not None:
            try:
                with transaction.atomic():
                    _inbound_process(row, parsed)
            except DomainError as exc:
                # The ticket services refused it: keep it whole in quarantine, undo any half.
                row.status, row.reason, row.ticket = InboundMessage.Status.QUARANTINED, str(exc), None
        # Not the raw bytes again: they were written with the INSERT.
        row.save(update_fields=["status", "reason", "from_address", "subject", "ticket", "sender_unknown"])
    return row


@transaction.atomic
def inbound_reimport(*, message: InboundMessage, actor) -> InboundMessage:
    """Try a quarantined message again (after a fix to the parser, say). Still unreadable: it stays
    in quarantine with the new reason."""
    if not is_staff_member(actor):
        raise DomainError(_("Only staff can re-import e-mail."))
    message = InboundMessage.objects.select_for_update().get(pk=message.pk)
    if message.status != InboundMessage.Status.QUARANTINED:
        raise DomainError(_("Only quarantined messages can be re-imported."))
    try:
        parsed = intake.parse(bytes(message.raw))
    except intake.UnparseableMail as exc:
        message.reason = str(exc)
        message.save(update_fields=["reason"])
        return message
    try:
        with transaction.atomic():
            _inbound_process(message, parsed)
    except DomainError as exc:
        message.status, message.reason, message.ticket = InboundMessage.Status.QUARANTINED, str(exc), None
    else:
        message.reason = message.reason if message.status == InboundMessage.Status.IGNORED else ""
    message.save()
    return message


@transaction.atomic
def inbound_open_as_ticket(*, message: InboundMessage, actor) -> Ticket:
    """A person decided: open a quarantined message as a ticket as it is, with whatever text can be
    read from it. Idempotent: the row is locked, and once it has a ticket that ticket is returned,
    so a double click (or two agents at once) makes one ticket. The raw bytes stay on the row."""
    if not is_staff_member(actor):
        raise DomainError(_("Only staff can open e-mail as a ticket."))
    message = InboundMessage.objects.select_for_update().get(pk=message.pk)
    if message.ticket_id is not None:
        return message.ticket
    if message.status != InboundMessage.Status.QUARANTINED:
        raise DomainError(_("Only quarantined messages can be opened as a ticket by hand."))
    raw = bytes(message.raw)
    address = message.from_address
    customer = _customer_for(address) if address else None
    unknown = customer is None
    if customer is None:
        customer = unknown_sender_customer()
    text = intake.best_effort_text(raw) or _("(no readable text; see the original message)")
    ticket = ticket_open(
        customer=customer,
        subject=(message.subject or _("(unreadable e-mail)"))[:200],
        description=text[:20000],
        channel=Ticket.Channel.EMAIL,
        actor=actor,
        notify_customer=False if unknown else None,
    )
    timeline_record(
        ticket=ticket,
        kind=TicketEvent.Kind.NOTE,
        actor=actor,
        body=_("Opened by hand from a quarantined e-mail (%(reason)s).") % {"reason": message.reason},
        data={"inbound": message.pk, "channel": "email", "quarantine_reason": message.reason},
    )
    message.status, message.ticket, message.sender_unknown = InboundMessage.Status.OPENED, ticket, unknown
    message.save(update_fields=["status", "ticket", "sender_unknown"])
    return ticket


@transaction.atomic
def ticket_attach_customer(*, ticket: Ticket, customer: Customer, actor) -> Ticket:
    """Move a ticket from an unknown e-mail sender to the customer an agent recognised."""
    if not is_staff_member(actor):
        raise DomainError(_("Only staff can attach a ticket to a customer."))
    ticket_lock(ticket)
    if ticket.customer_id == customer.pk:
        return ticket
    old = ticket.customer
    ticket.customer = customer
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=["customer", "updated_at"])
    ticket.inbound_messages.filter(sender_unknown=True).update(sender_unknown=False)
    timeline_record(
        ticket=ticket,
        kind=TicketEvent.Kind.NOTE,
        actor=actor,
        data={"customer_from": old.number, "customer_to": customer.number},
    )
    ticket_changed.send(sender=Ticket, ticket=ticket, created=False, actor=actor)
    return ticket


# --- saved queue views ---------------------------------------------------------------------------

# What a saved view keeps of the queue page's query string: its filters and order, never the cursor.
SAVED_VIEW_KEYS = ("queue", "mine", "order", "status", "category", "service", "area", "unassigned")


def saved_view_query(params) -> str:
    """The queue page's ``request.GET`` reduced to what a view saves, in a stable order."""
    keys = (*SAVED_VIEW_KEYS, *sorted(extensions.queue_filters))
    query = QueryDict(mutable=True)
    for key in keys:
        value = params.get(key, "")
        if value:
            query[key] = value[:100]
    return query.urlencode()


@transaction.atomic
def saved_view_save(*, owner, name: str, params, shared: bool = False):
    """Save the queue's current filters under ``name`` (the owner's view of that name is replaced)."""
    name = " ".join(name.split())
    if not name:
        raise DomainError(_("Give the view a name."), field="name")
    view, _created = SavedView.objects.update_or_create(
        owner=owner,
        name=name[:60],
        defaults={"query": saved_view_query(params), "shared": shared},
    )
    return view


def saved_view_delete(*, view, actor) -> None:
    """Only its owner deletes a view (a shared one too)."""
    if view.owner_id != actor.pk:
        raise DomainError(_("Only the person who saved a view can delete it."))
    view.delete()
