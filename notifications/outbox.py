"""E-mail to customers through an outbox: rows first (in the causing transaction), SMTP second.

Writing (``outbox_*`` functions, called by the receivers in ``notifications.receivers``)
--------------------------------------------------------------------------------------
A row is written in the transaction of the event that causes it, keyed ``<kind>.<event>.c<customer>``
(unique), so a repeated event writes nothing twice. An incident's notices are written set-based:
one ``INSERT … SELECT … ON CONFLICT (key) DO NOTHING`` covers every customer with an affected active
subscription (100,000 rows in one statement), and its follow-ups (ETA changed, resolved) are written
from the first notice's rows the same way; a public update copied onto the linked tickets is
mailed to those tickets' customers from the reply entries the same way. After commit, ``enqueue_delivery`` starts workers.

Sending (``outbox_deliver``, run by ``notifications.tasks.deliver_outbox``)
---------------------------------------------------------------------------
1. **Claim** a chunk: one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`` that sets a lease
   (``claimed_until``) and counts the attempt, committed at once. Concurrent workers get disjoint
   chunks; a task run twice finds nothing left to claim.
2. **Send** the chunk over ONE SMTP connection, one message at a time, and mark each row sent in its
   own UPDATE right after the server accepted it (``WHERE state = 'pending'``). Where the server
   offers PIPELINING a message costs one round trip, and the marks go over a second connection
   without waiting for PostgreSQL (``notifications.sending``, which also argues the duplicate bound).
3. **Faults.** A worker killed mid-chunk leaves its rows pending with a lease; when the lease ends the
   periodic sweep (``supportdesk/celery.py``) hands them out again. Only the message that was accepted
   but not yet marked is sent twice — and it carries the same Message-ID. A temporary failure
   (connection refused or dropped, 4xx) puts the row back with a backoff (``next_attempt_at``); a
   permanent one (5xx, an address the server or Django refuses) marks it failed, in the admin and, for
   ticket mail, as "e-mail failed" in the ticket's timeline. Rows never wait in Celery countdowns.
   The marks commit asynchronously (``synchronous_commit = off``, this session only): a killed worker
   loses none; a crashed database server may forget the last fraction of a second of them, and
   those messages go out twice.
4. **Rate.** ``NOTIFICATION_SEND_RATE`` messages per second across all workers (a per-second counter
   in Redis; per process without Redis); 0 means as fast as the server takes them.

Customers who opted out of proactive mail (``Customer.proactive_email``) get no incident notices:
they are left out when the rows are written, and rows still pending when they opt out are skipped.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, models, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Cast, Concat, JSONObject
from django.utils import timezone

from customers.models import Area, Customer, SignInLink
from incidents import matching
from incidents.models import Incident, IncidentTicketLink, StatusSubscription
from notifications import rendering, sending
from notifications.models import Notification
from tickets.models import ContactRequest, Ticket, TicketEvent
from tickets.services import timeline_record

log = logging.getLogger(__name__)

Kind = Notification.Kind
State = Notification.State

# Ticket mail the customer wrote in for gets a confirmation unless the opener said otherwise.
CONFIRMED_CHANNELS = (Ticket.Channel.WEB, Ticket.Channel.API, Ticket.Channel.EMAIL)


# --- keys and message ids ----------------------------------------------------------------------


def message_id_domain() -> str:
    return settings.NOTIFICATION_MESSAGE_ID_DOMAIN


def message_id_for(key: str) -> str:
    """Derived from the key: a re-sent message has the same Message-ID, so clients show it once."""
    return f"<{key}@{message_id_domain()}>"


def ticket_thread_id(ticket_id: int) -> str:
    """The thread every mail about a ticket refers to (In-Reply-To/References); e-mail intake can
    find the ticket from a customer's answer by it."""
    return f"<ticket.t{ticket_id}@{message_id_domain()}>"


def incident_thread_id(incident_id: int, customer_id: int) -> str:
    return f"<incident.i{incident_id}.c{customer_id}@{message_id_domain()}>"


def _key(kind: str, event: str, customer_id: int) -> str:
    return f"{kind}.{event}.c{customer_id}"


def _eta_token(eta: datetime | None) -> str:
    return f"eta{int(eta.timestamp())}" if eta else "eta-none"


# --- writing rows (inside the caller's transaction) --------------------------------------------


def _ticket_row(*, ticket: Ticket, kind: str, event: str, context: dict | None = None) -> int:
    customer = ticket.customer
    if not customer.email:
        return 0
    key = _key(kind, event, customer.pk)
    created = Notification.objects.bulk_create(
        [
            Notification(
                key=key,
                kind=kind,
                customer=customer,
                ticket=ticket,
                language=customer.language,
                to_email=customer.email,
                message_id=message_id_for(key),
                context=context or {},
            )
        ],
        ignore_conflicts=True,  # the same event again: already queued
    )
    enqueue_on_commit(len(created))
    return len(created)


def outbox_ticket_confirmation(*, ticket: Ticket, notify_customer: bool | None = None) -> int:
    """Queue the "we got your ticket, reference SD-n" mail, unless nobody asked for it (an agent's
    phone ticket without ``notify_customer``). Returns the rows written (0 or 1)."""
    wanted = ticket.channel in CONFIRMED_CHANNELS if notify_customer is None else notify_customer
    if not wanted:
        return 0
    return _ticket_row(ticket=ticket, kind=Kind.TICKET_CONFIRMATION, event=f"t{ticket.pk}")


def outbox_sign_in_link(*, link: SignInLink) -> int:
    """Queue the mail carrying a sign-in link (``customers.signin``). Not proactive: sent to customers
    who opted out of outage mail too. The token is made when the mail is rendered, not stored here."""
    customer = link.customer
    if not customer.email:
        return 0
    key = _key(Kind.SIGN_IN_LINK, f"l{link.pk}", customer.pk)
    created = Notification.objects.bulk_create(
        [
            Notification(
                key=key,
                kind=Kind.SIGN_IN_LINK,
                customer=customer,
                language=customer.language,
                to_email=customer.email,
                message_id=message_id_for(key),
                context={"link": link.pk},
            )
        ],
        ignore_conflicts=True,
    )
    enqueue_on_commit(len(created))
    return len(created)


def outbox_contact_confirm(*, request: ContactRequest) -> int:
    """Queue the mail asking a signed-out visitor to confirm what they wrote (``tickets.contact``), to
    the customer's address on file. Not proactive: sent to customers who opted out of outage mail."""
    customer = request.customer
    key = _key(Kind.CONTACT_CONFIRM, f"r{request.pk}", customer.pk)
    created = Notification.objects.bulk_create(
        [
            Notification(
                key=key,
                kind=Kind.CONTACT_CONFIRM,
                customer=customer,
                language=customer.language,
                to_email=request.email,
                message_id=message_id_for(key),
                context={"request": request.pk, "subject": request.subject},
            )
        ],
        ignore_conflicts=True,
    )
    enqueue_on_commit(len(created))
    return len(created)


def outbox_status_confirm(*, subscription: StatusSubscription) -> int:
    """Queue the double opt-in mail of a status subscription (``incidents.subscriptions``): one per
    request (keyed on its time), to the address given, which need not be a customer's."""
    key = f"{Kind.STATUS_CONFIRM}.s{subscription.pk}.r{int(subscription.requested_at.timestamp())}"
    created = Notification.objects.bulk_create(
        [
            Notification(
                key=key,
                kind=Kind.STATUS_CONFIRM,
                status_subscription=subscription,
                language=subscription.language,
                to_email=subscription.email,
                message_id=message_id_for(key),
            )
        ],
        ignore_conflicts=True,
    )
    enqueue_on_commit(len(created))
    return len(created)


def _subscribers_touched(incident: Incident) -> models.QuerySet[StatusSubscription]:
    """Confirmed status subscriptions whose place the incident touches (``incidents.status``: its
    area scope is empty, or lists the place, one above it or one below it) and whose service it
    covers (the subscription is for all services, or the scope lists no service or theirs)."""
    subscriptions = StatusSubscription.objects.filter(confirmed_at__isnull=False)
    listed = list(incident.areas.values_list("path", flat=True))
    if listed:
        above = {p for path in listed for p in Area(path=path).ancestor_paths()}
        below = Q(pk__in=[])
        for path in listed:
            below |= Q(area__path__startswith=path)
        subscriptions = subscriptions.filter(below | Q(area__path__in=above))
    services = list(incident.services.values_list("pk", flat=True))
    if services:
        subscriptions = subscriptions.filter(Q(service__isnull=True) | Q(service_id__in=services))
    return subscriptions


def outbox_status_notices(*, incident: Incident, event: str) -> int:
    """Queue "something is wrong at your place" (``event`` "declared") or "it is fixed" ("resolved")
    for every confirmed status subscription the incident touches, set-based (one statement), once
    per incident, event and subscription. Known issues (an equipment defect, not a place) and held
    monitoring alerts send nothing."""
    if (
        incident.needs_scope
        or incident.kind == Incident.Kind.KNOWN_ISSUE
        or incident.is_withdrawn
        or incident.is_proposed
    ):
        return 0
    now = Value(timezone.now(), output_field=models.DateTimeField())
    eta = incident.eta.isoformat() if incident.eta else None
    key = Concat(
        Value(f"{Kind.STATUS_NOTICE}.i{incident.pk}.{event}.s"),
        Cast(F("id"), models.CharField()),
        output_field=models.CharField(),
    )
    columns = {
        "key": key,
        "kind": Value(Kind.STATUS_NOTICE),
        "status_subscription": F("id"),
        "incident": Value(incident.pk),
        "language": F("language"),
        "to_email": F("email"),
        "message_id": Concat(
            Value("<"), key, Value(f"@{message_id_domain()}>"), output_field=models.CharField()
        ),
        "context": Cast(Value(_json({"event": event, "eta": eta})), models.JSONField()),
        "subject": Value(""),
        "body": Value(""),
        "state": Value(State.PENDING),
        "attempts": Value(0),
        "last_error": Value(""),
        "created_at": now,
        "next_attempt_at": now,
    }
    written = _insert_select(columns, _subscribers_touched(incident))
    enqueue_on_commit(written)
    return written


def outbox_ticket_reply(*, ticket: Ticket, event: TicketEvent) -> int:
    """Queue an agent's public reply to the customer (notes and the customer's own words are not mailed)."""
    if event.kind != TicketEvent.Kind.REPLY or not event.public:
        return 0
    return _ticket_row(
        ticket=ticket, kind=Kind.TICKET_REPLY, event=f"e{event.pk}", context={"event": event.pk}
    )


def _insert_select(columns: dict[str, models.Expression], queryset: models.QuerySet) -> int:
    """``INSERT INTO notification (columns) SELECT … ON CONFLICT (key) DO NOTHING`` in one statement;
    the SELECT is built by the ORM. Returns the number of rows written."""
    aliases = {f"_c{i}": expr for i, expr in enumerate(columns.values())}
    sql, params = queryset.order_by().annotate(**aliases).values(*aliases).query.sql_with_params()
    meta = Notification._meta
    names = ", ".join(connection.ops.quote_name(meta.get_field(c).column) for c in columns)
    # The sub-select's own WHERE lets SQLite parse INSERT … SELECT … ON CONFLICT.
    statement = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({names}) "
        f"SELECT * FROM ({sql}) AS rows WHERE true ON CONFLICT (key) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return max(cursor.rowcount, 0)


def _columns(*, kind: str, incident: Incident, event: str, context: dict, customer: str) -> dict:
    """The columns of a notice row, ``customer`` naming the customer relation in the SELECT ("" for
    a Customer queryset, "customer__" for a Notification one)."""
    now = Value(timezone.now(), output_field=models.DateTimeField())
    customer_id = Cast(F(f"{customer}id" if customer else "id"), models.CharField())
    key = Concat(Value(f"{kind}.{event}.c"), customer_id, output_field=models.CharField())
    return {
        "key": key,
        "kind": Value(kind),
        "customer": F(f"{customer}id" if customer else "id"),
        "incident": Value(incident.pk),
        "language": F(f"{customer}language"),
        "to_email": F(f"{customer}email"),
        "message_id": Concat(
            Value("<"), key, Value(f"@{message_id_domain()}>"), output_field=models.CharField()
        ),
        "context": Cast(Value(_json(context)), models.JSONField()),
        "subject": Value(""),
        "body": Value(""),
        "state": Value(State.PENDING),
        "attempts": Value(0),
        "last_error": Value(""),
        "created_at": now,
        "next_attempt_at": now,
    }


def _json(value: dict) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def outbox_incident_notice(*, incident: Incident) -> int:
    """Queue "we know, it's on our side, expected back at …" for every customer with an affected
    active subscription who has an e-mail address and has not opted out — once per incident per
    customer, set-based (one statement). A no-op when the incident's "tell customers" switch is off.
    Called again after a scope change, it reaches only the newly covered customers."""
    if not incident.notify_customers:
        return 0
    scope = matching.Scope.of(incident)
    customers = Customer.objects.filter(
        id__in=scope.subscriptions().values("customer_id"), proactive_email=True
    ).exclude(email="")
    context = {"eta": incident.eta.isoformat() if incident.eta else None}
    written = _insert_select(
        _columns(
            kind=Kind.INCIDENT_AFFECTS_YOU,
            incident=incident,
            event=f"i{incident.pk}",
            context=context,
            customer="",
        ),
        customers,
    )
    enqueue_on_commit(written)
    return written


def _last_eta_told(incident: Incident) -> str | None:
    """The ETA in the newest notice about ``incident`` (two index look-ups)."""
    for kind in (Kind.INCIDENT_UPDATE, Kind.INCIDENT_AFFECTS_YOU):
        row = (
            Notification.objects.filter(incident=incident, kind=kind)
            .order_by("-id")
            .values_list("context", flat=True)
            .first()
        )
        if row is not None:
            return (row or {}).get("eta")
    return None


def _follow_up(*, incident: Incident, kind: str, event: str, context: dict) -> int:
    """A follow-up to everyone who was sent (or is being sent) the first notice, still opted in."""
    told = Notification.objects.filter(
        incident=incident, kind=Kind.INCIDENT_AFFECTS_YOU, state__in=[State.PENDING, State.SENT]
    ).filter(customer__proactive_email=True)
    written = _insert_select(
        _columns(kind=kind, incident=incident, event=event, context=context, customer="customer__"), told
    )
    enqueue_on_commit(written)
    return written


def outbox_incident_eta_changed(*, incident: Incident) -> int:
    """When the ETA differs from the last one customers were told, queue one short update to those
    told. Any other change (status, scope, messages) sends nothing."""
    if not incident.notify_customers or not incident.is_active:
        return 0
    eta = incident.eta.isoformat() if incident.eta else None
    if (
        eta == _last_eta_told(incident)
        or not Notification.objects.filter(incident=incident, kind=Kind.INCIDENT_AFFECTS_YOU).exists()
    ):
        return 0
    return _follow_up(
        incident=incident,
        kind=Kind.INCIDENT_UPDATE,
        event=f"i{incident.pk}.{_eta_token(incident.eta)}",
        context={"eta": eta},
    )


def outbox_incident_resolved(*, incident: Incident) -> int:
    """Queue "it's fixed, we're sorry" to every customer who was told about the incident."""
    if not incident.notify_customers:
        return 0
    return _follow_up(incident=incident, kind=Kind.INCIDENT_RESOLVED, event=f"i{incident.pk}", context={})


def outbox_incident_update_replies(*, incident: Incident, update) -> int:
    """Queue, as ticket reply mail, the public update that ``incident_post_update`` copied onto the
    incident's linked open tickets (``reply_to_tickets``): each customer gets the reply written on
    their ticket, in its language, as if an agent had answered it (``outbox_ticket_reply``: the same
    kind, key ``ticket-reply.e<event>.c<customer>`` and threading), so a repeated call writes nothing
    twice. Set-based: one ``INSERT … SELECT`` over the reply entries, found through the incident's
    links and the timeline index (ticket, time) — the replies were written at the update's time."""
    return _ticket_replies(
        TicketEvent.objects.filter(
            ticket__in=IncidentTicketLink.objects.filter(incident=incident).values("ticket_id"),
            created_at=update.created_at,
            kind=TicketEvent.Kind.REPLY,
            public=True,
            data__update=update.pk,
        )
    )


def outbox_ticket_replies(*, event_ids: Iterable[int]) -> int:
    """Queue the public staff replies ``event_ids`` (a bulk reply) to their tickets' customers: for
    each, the row ``outbox_ticket_reply`` writes for one (kind, key ``ticket-reply.e<event>.c<customer>``,
    language, threading on the ticket), in one ``INSERT … SELECT … ON CONFLICT (key) DO NOTHING``,
    so a repeated call writes nothing twice. Returns the rows written."""
    return _ticket_replies(
        TicketEvent.objects.filter(pk__in=list(event_ids), kind=TicketEvent.Kind.REPLY, public=True)
    )


def _ticket_replies(replies: models.QuerySet[TicketEvent]) -> int:
    """One ticket-reply row per reply entry of ``replies`` whose customer has an address, set-based."""
    now = Value(timezone.now(), output_field=models.DateTimeField())
    key = Concat(
        Value(f"{Kind.TICKET_REPLY}.e"),
        Cast("id", models.CharField()),
        Value(".c"),
        Cast("ticket__customer_id", models.CharField()),
        output_field=models.CharField(),
    )
    written = _insert_select(
        {
            "key": key,
            "kind": Value(Kind.TICKET_REPLY),
            "customer": F("ticket__customer_id"),
            "ticket": F("ticket_id"),
            "language": F("ticket__customer__language"),
            "to_email": F("ticket__customer__email"),
            "message_id": Concat(
                Value("<"), key, Value(f"@{message_id_domain()}>"), output_field=models.CharField()
            ),
            "context": JSONObject(event="id"),
            "subject": Value(""),
            "body": Value(""),
            "state": Value(State.PENDING),
            "attempts": Value(0),
            "last_error": Value(""),
            "created_at": now,
            "next_attempt_at": now,
        },
        replies.exclude(ticket__customer__email=""),
    )
    enqueue_on_commit(written)
    return written


def enqueue_on_commit(rows: int) -> None:
    if rows:
        transaction.on_commit(lambda: enqueue_delivery(rows))


def enqueue_delivery(rows: int) -> int:
    """Start up to ``NOTIFICATION_PARALLEL`` delivery tasks for ``rows`` new rows (each keeps claiming
    chunks until none is due). Never raises: with the broker down the sweep starts them later."""
    from notifications.tasks import deliver_outbox

    tasks = max(1, min(settings.NOTIFICATION_PARALLEL, -(-rows // settings.NOTIFICATION_CHUNK_SIZE)))
    for _ in range(tasks):
        try:
            deliver_outbox.delay()
        except Exception as exc:
            log.warning("could not enqueue e-mail delivery, left for the sweep: %r", exc)
            return 0
    return tasks


# --- sending -------------------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retry: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


# The claim must walk ``notification_due_idx`` in order and stop after ``limit`` rows. Right after a
# declaration wrote 100,000 rows the planner's statistics still say "a few" and it picks a bitmap
# scan plus a sort of *every* pending row instead: 250–500 ms per claim at 60,000 pending rows, for
# every chunk of every worker, against 5–40 ms walking the index (bench/README.md, "Outbox"). Local
# to the claim's transaction.
WALK_THE_DUE_INDEX = (
    "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off"
)


def claim(*, limit: int, now: datetime | None = None) -> list[int]:
    """Take up to ``limit`` due pending rows for this worker: a lease until now + the claim time, and
    one more attempt counted. Committed on return; concurrent claimers skip each other's rows."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)
    due = (
        Notification.objects.select_for_update(skip_locked=True)
        .filter(state=State.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "id")
        .values("id")[:limit]
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            sql, params = due.query.sql_with_params()
            table = connection.ops.quote_name(Notification._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(WALK_THE_DUE_INDEX)
                cursor.execute(
                    f"UPDATE {table} SET claimed_until = %s, attempts = attempts + 1 "
                    f"WHERE id IN ({sql}) RETURNING id",
                    [lease, *params],
                )
                return sorted(row[0] for row in cursor.fetchall())
        # SQLite: one writer at a time; claim by conditional UPDATE of the ids read.
        ids = list(due.values_list("id", flat=True))
        Notification.objects.filter(pk__in=ids, state=State.PENDING).update(
            claimed_until=lease, attempts=F("attempts") + 1
        )
        return ids


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at an hour."""
    base = settings.NOTIFICATION_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


_MARK_SENT_SQL = (
    "UPDATE notifications_notification SET state = 'sent', sent_at = %s, claimed_until = NULL, "
    "subject = %s, last_error = '' WHERE id = %s AND state = 'pending'"
)


def _mark_sent(row: Notification, subject: str) -> None:
    """Right after the server accepted the message: one short statement (hand-written: it runs once
    per message), plus the ticket's timeline entry for ticket mail, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_MARK_SENT_SQL, [now, subject[:250], row.pk])
            marked = cursor.rowcount
        if marked and row.ticket_id:
            timeline_record(
                ticket=row.ticket,
                kind=TicketEvent.Kind.NOTIFICATION,
                at=now,
                data={"state": State.SENT, "kind": row.kind, "to": row.to_email, "notification": row.pk},
            )


def _mark_failed(row: Notification, error: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        marked = Notification.objects.filter(pk=row.pk, state=State.PENDING).update(
            state=State.FAILED, claimed_until=None, last_error=error[:2000]
        )
        if marked and row.ticket_id:
            timeline_record(
                ticket=row.ticket,
                kind=TicketEvent.Kind.NOTIFICATION,
                at=now,
                body=error[:500],
                data={"state": State.FAILED, "kind": row.kind, "to": row.to_email, "notification": row.pk},
            )
    log.warning("e-mail %s to %s failed for good: %s", row.key, row.to_email, error)


def _retry_later(rows: Iterable[Notification], error: str) -> int:
    """Back to pending with a backoff; a row out of attempts fails for good."""
    n = 0
    for row in rows:
        if row.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
            _mark_failed(row, f"gave up after {row.attempts} attempts: {error}")
            continue
        Notification.objects.filter(pk=row.pk, state=State.PENDING).update(
            claimed_until=None,
            next_attempt_at=timezone.now() + backoff(row.attempts),
            last_error=error[:2000],
        )
        n += 1
    return n


def _release(rows: list[Notification]) -> None:
    """Hand unsent rows back untouched (the attempt did not happen)."""
    Notification.objects.filter(pk__in=[r.pk for r in rows], state=State.PENDING).update(
        claimed_until=None, attempts=F("attempts") - 1
    )


def _skip_opted_out(rows: list[Notification]) -> tuple[list[Notification], int]:
    out = [
        r
        for r in rows
        if r.kind in Notification.PROACTIVE_KINDS
        and r.customer is not None
        and not r.customer.proactive_email
    ]
    if out:
        Notification.objects.filter(pk__in=[r.pk for r in out], state=State.PENDING).update(
            state=State.SKIPPED, claimed_until=None
        )
    return [r for r in rows if r not in out], len(out)


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    # Django refusing the address itself (a newline, no domain): retrying cannot help.
    return isinstance(exc, ValueError)


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{addr}: {code} {msg!r}" for addr, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {exc.smtp_error!r}"
    return repr(exc)


def outbox_deliver(*, limit: int | None = None, _connection_per_message: bool = False) -> DeliveryResult:
    """Claim one chunk of due rows and send it over one SMTP connection. See the module docstring
    for what is guaranteed; returns what happened to the chunk (``claimed == 0``: nothing was due).

    ``_connection_per_message`` is the benchmark's baseline (bench/bench_outbox.py), nothing else."""
    result = DeliveryResult()
    ids = claim(limit=limit or settings.NOTIFICATION_CHUNK_SIZE)
    result.claimed = len(ids)
    if not ids:
        return result
    started = time.monotonic()
    rows = list(
        Notification.objects.filter(pk__in=ids, state=State.PENDING)
        .select_related("customer", "ticket", "incident", "status_subscription__area")
        .order_by("id")
    )
    rows, result.skipped = _skip_opted_out(rows)
    if not rows:
        return result
    messages = rendering.render_messages(rows)
    throttle(len(rows))
    smtp = get_connection(fail_silently=False)
    try:
        smtp.open()
        # Pipelining needs the SMTP backend's socket; other backends (console, locmem, a relay's
        # own) send one message at a time through send_messages.
        wire_connection = getattr(smtp, "connection", None)
        pipeline = (
            sending.Pipeline(wire_connection)
            if settings.NOTIFICATION_SMTP_PIPELINING
            and not _connection_per_message
            and wire_connection is not None
            and sending.pipelining(wire_connection)
            else None
        )
    except (OSError, smtplib.SMTPException) as exc:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.close()
        result.retry = _retry_later(rows, f"connection: {_describe(exc)}")
        result.errors.append(_describe(exc))
        return result
    # Stop well before the lease ends, so no other worker can claim a row this one is still sending.
    deadline = started + settings.NOTIFICATION_CLAIM_SECONDS * 0.8
    wires: dict[int, sending.Wire | ValueError] = {}

    def wire(i: int) -> sending.Wire:
        if i not in wires:
            try:
                wires[i] = sending.Wire.of(messages[i], settings.DEFAULT_CHARSET)
            except ValueError as exc:
                wires[i] = exc
        if isinstance(wires[i], ValueError):
            raise wires[i]
        return wires[i]

    def following(i: int) -> sending.Wire | None:
        """The next message's envelope rides along, unless the chunk stops here."""
        if i + 1 >= len(rows) or time.monotonic() > deadline:
            return None
        try:
            return wire(i + 1)
        except ValueError:
            return None

    marks = sending.SentMarks.open() if pipeline else None
    _asynchronous_commits(True)
    try:
        for i, (row, message) in enumerate(zip(rows, messages, strict=True)):
            # (A message whose envelope already went out is finished first.)
            if time.monotonic() > deadline and (pipeline is None or pipeline.ahead is None):
                _release(rows[i:])  # not a failure: due again at once, for whoever claims next
                break
            try:
                if pipeline is not None:
                    pipeline.send(wire(i), following(i))
                elif _connection_per_message:
                    get_connection(fail_silently=False).send_messages([message])  # opens and closes
                else:
                    smtp.send_messages([message])
            except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused, ValueError) as exc:
                # The server answered about this message (or Django refused the address).
                result.errors.append(_describe(exc))
                if _is_permanent(exc):
                    _mark_failed(row, _describe(exc))
                    result.failed += 1
                else:
                    result.retry += _retry_later([row], _describe(exc))
                continue
            except OSError as exc:  # smtplib's other errors are OSErrors too: the connection is gone
                result.retry += _retry_later(rows[i:], f"connection: {_describe(exc)}")
                result.errors.append(_describe(exc))
                break
            if marks is not None and not row.ticket_id:
                marks.mark(row.pk, message.subject, timezone.now())
            else:
                _mark_sent(row, message.subject)
            result.sent += 1
    finally:
        if marks is not None:
            marks.close()
        _asynchronous_commits(False)
        if pipeline is not None and pipeline.ahead is not None:
            # An envelope without its content (the connection failed under it): QUIT would be read
            # as message text. Drop the connection; the server discards the open transaction.
            with contextlib.suppress(OSError):
                smtp.connection.close()
            smtp.connection = None
        with contextlib.suppress(OSError, smtplib.SMTPException):  # a dead connection: nothing to lose
            smtp.close()
    return result


def _asynchronous_commits(on: bool) -> None:
    """The per-message "sent" marks need not wait for the WAL flush: a killed worker loses nothing
    (the server has the commit); only a PostgreSQL crash could forget the last few hundred ms of
    marks, and those messages would be sent again — the duplicate bound we accept there."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off" if on else "RESET synchronous_commit")


# --- rate --------------------------------------------------------------------------------------

_local_window = {"second": 0, "used": 0}


def throttle(n: int) -> None:
    """Wait until ``n`` more messages fit in ``NOTIFICATION_SEND_RATE`` per second (0: no limit)."""
    rate = settings.NOTIFICATION_SEND_RATE
    if rate <= 0:
        return
    n = min(n, rate)  # a chunk larger than a second's budget takes its whole second
    while True:
        second = int(time.time())
        used = _reserve(second, n)
        if used <= rate:
            return
        time.sleep(max(second + 1 - time.time(), 0.001))


def _reserve(second: int, n: int) -> int:
    if settings.REDIS_URL:
        try:
            return _redis_reserve(second, n)
        except Exception as exc:  # Redis down: limit per process rather than not send
            log.warning("send-rate counter unavailable, limiting per process: %r", exc)
    if _local_window["second"] != second:
        _local_window.update(second=second, used=0)
    _local_window["used"] += n
    return _local_window["used"]


_redis_client = None


def _redis_reserve(second: int, n: int) -> int:
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    key = f"notifications:send-rate:{second}"
    pipe = _redis_client.pipeline()
    pipe.incrby(key, n)
    pipe.expire(key, 5)
    used, _ = pipe.execute()
    return int(used)


# --- sweep -----------------------------------------------------------------------------------------


def has_due_rows(*, now: datetime | None = None) -> bool:
    """Whether any pending row could be claimed now (backoff over, no live lease)."""
    now = now or timezone.now()
    due = (
        Notification.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "id")
    )
    if connection.vendor != "postgresql":
        return due.exists()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(WALK_THE_DUE_INDEX)
        return due.exists()


# --- opting out ----------------------------------------------------------------------------------


def customer_unsubscribe_proactive(*, customer_id: int) -> bool:
    """The customer wants no more outage/maintenance mail (RFC 8058 one-click, or the page). Idempotent;
    rows already queued for them are skipped when their turn comes. Returns False for an unknown customer."""
    if not Customer.objects.filter(pk=customer_id).exists():
        return False
    Customer.objects.filter(pk=customer_id, proactive_email=True).update(proactive_email=False)
    return True
