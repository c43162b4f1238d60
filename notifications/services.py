"""Alerts to agents: rows first (in the caller's transaction), pushes second (after commit).

Every state change about alerts goes through a function here; receivers, tasks, views and the
websocket consumer all call them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone, translation

from core.languages import LANGUAGE_CODES
from core.roles import ADMIN, OPS
from incidents.models import Incident
from incidents.surge import surge_summary
from notifications.models import Alert, AlertReceipt
from tickets.models import REFERENCE_PREFIX, Ticket

log = logging.getLogger(__name__)

# The websocket groups. Who may join which is decided in notifications.consumers.
STAFF_GROUP = "alerts.staff"

# The sweep leaves alerts younger than this to their own on-commit push (avoids double sends).
SWEEP_MIN_AGE = timedelta(seconds=5)
SWEEP_BATCH = 500
# Alerts per fan-out task: each task loads its batch in one query, sends it in one event loop and
# marks it in one UPDATE (alerts_push), so 3,000 assignees take six tasks (bench/README.md, "Fan-out").
FAN_OUT_BATCH = 500

RECEIPT_STATES = ("delivered", "seen", "acknowledged")

# group_sends in flight at once within a batch (each holds one pooled Redis connection).
PUSH_CONCURRENCY = 50

# Above this many newly linked tickets, find the assigned ones by join rather than by id list.
LARGE_MATCH = 1000


def user_group(user_id: int) -> str:
    return f"alerts.user.{user_id}"


def audience_of(alert: Alert) -> str:
    """Incident alerts go to every staff member, ticket alerts to their one recipient."""
    return user_group(alert.recipient_id) if alert.recipient_id else STAFF_GROUP


# --- payloads ------------------------------------------------------------------------------------


def incident_payload(incident: Incident) -> dict:
    """What a browser needs to show an incident alert without asking again (all three languages)."""
    return {
        "id": incident.pk,
        "title": incident.title,
        "kind": incident.kind,
        "severity": int(incident.severity),
        "status": incident.status,
        "eta": incident.eta.isoformat() if incident.eta else None,
        "agent_script": dict(incident.agent_script or {}),
        "public_message": dict(incident.public_message or {}),
    }


def alert_message(alert: Alert) -> dict:
    """The ``alert`` object sent to browsers, live and on catch-up alike."""
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "created_at": alert.created_at.isoformat(),
        **alert.payload,
    }


# --- creating alerts (inside the caller's transaction) ------------------------------------------


def alert_for_incident(*, incident: Incident, kind: str, update=None, reason: str = "") -> Alert:
    """Record an alert for every staff member about ``incident`` and push it once committed
    (``reason``: why it was withdrawn, shown with the alert).

    Must run inside the transaction that changed the incident: the row commits or rolls back with it.
    """
    payload = {"incident": incident_payload(incident)}
    if update is not None:
        payload["update"] = {"message": dict(update.message or {}), "public": bool(update.public)}
    if reason:
        payload["reason"] = reason
    alert = Alert.objects.create(kind=kind, incident=incident, payload=payload)
    publish_on_commit([alert.pk])
    return alert


def alerts_for_matched_tickets(
    *, incident: Incident, ticket_ids: Iterable[int], assignees: dict[int, int | None] | None = None
) -> list[Alert]:
    """One ``ticket-matched`` alert per linked ticket that has an assignee, addressed to the assignee.

    Set-based: one query for the assignees, one bulk insert, one on-commit push for the batch.
    ``assignees`` ({ticket id: assignee id or None}, as the caller's transaction has them): no query
    for the assignees, and none at all when no ticket has one (a ticket just opened).
    """
    ticket_ids = list(ticket_ids)
    if assignees is not None and all(pk in assignees for pk in ticket_ids):
        rows = sorted((pk, assignees[pk]) for pk in set(ticket_ids) if assignees[pk] is not None)
        return _matched_alerts(incident=incident, rows=rows)
    if len(ticket_ids) > LARGE_MATCH:
        # A declaration linking 100,000 tickets: a 100,000-id IN list costs about a second to send
        # and plan, while few of them have an assignee. Ask the other way round: assigned tickets
        # attached to this incident that have no ticket-matched alert for it yet.
        already = Alert.objects.filter(
            incident=incident, kind=Alert.Kind.TICKET_MATCHED, ticket=OuterRef("pk")
        )
        assigned = Ticket.objects.filter(
            assignee__isnull=False,
            incident_links__incident=incident,
            incident_links__detached_at__isnull=True,
        ).exclude(Exists(already))
    else:
        assigned = Ticket.objects.filter(pk__in=ticket_ids, assignee__isnull=False)
    rows = list(assigned.order_by("pk").values_list("pk", "assignee_id"))
    return _matched_alerts(incident=incident, rows=rows)


def _matched_alerts(*, incident: Incident, rows: list[tuple[int, int]]) -> list[Alert]:
    """The ``ticket-matched`` alert rows for (ticket id, assignee id) pairs, pushed after commit."""
    if not rows:
        return []
    base = {"incident": incident_payload(incident)}
    now = timezone.now()
    alerts = Alert.objects.bulk_create(
        [
            Alert(
                kind=Alert.Kind.TICKET_MATCHED,
                incident=incident,
                ticket_id=ticket_id,
                recipient_id=assignee_id,
                created_at=now,
                payload={**base, "ticket": {"id": ticket_id, "reference": f"{REFERENCE_PREFIX}{ticket_id}"}},
            )
            for ticket_id, assignee_id in rows
        ]
    )
    publish_on_commit([a.pk for a in alerts])
    return alerts


def alerts_for_kept_open_tickets(*, incident: Incident, ticket_ids: Iterable[int]) -> list[Alert]:
    """The incident is resolved but these tickets stayed open (kept open, or the customer wrote since
    the link): one ``incident-resolved`` alert per assigned ticket, to its assignee, saying so.
    Set-based like ``alerts_for_matched_tickets``; unassigned ones wait, flagged, in their queue."""
    rows = list(
        Ticket.objects.filter(pk__in=list(ticket_ids), assignee__isnull=False)
        .order_by("pk")
        .values_list("pk", "assignee_id")
    )
    if not rows:
        return []
    base = {"incident": incident_payload(incident)}
    now = timezone.now()
    alerts = Alert.objects.bulk_create(
        [
            Alert(
                kind=Alert.Kind.INCIDENT_RESOLVED,
                incident=incident,
                ticket_id=ticket_id,
                recipient_id=assignee_id,
                created_at=now,
                payload={
                    **base,
                    "ticket": {
                        "id": ticket_id,
                        "reference": f"{REFERENCE_PREFIX}{ticket_id}",
                        "kept_open": True,
                    },
                },
            )
            for ticket_id, assignee_id in rows
        ]
    )
    publish_on_commit([a.pk for a in alerts])
    return alerts


def alerts_for_proposal(*, incident: Incident, proposal) -> list[Alert]:
    """One ``incident-proposed`` alert to each active ops (and admin) user, with the trigger numbers:
    ops decide whether it is an outage. Set-based like the other per-user alerts."""
    recipients = list(
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[OPS, ADMIN])
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not recipients:
        return []
    summary = {}
    for language in LANGUAGE_CODES:
        with translation.override(language):
            summary[language] = surge_summary(proposal)
    payload = {
        "incident": incident_payload(incident),
        "proposal": {
            "summary": summary,
            "reports": proposal.reports,
            "window_minutes": proposal.window_minutes,
            "expected": round(proposal.expected, 2),
            "level": proposal.level,
        },
    }
    now = timezone.now()
    alerts = Alert.objects.bulk_create(
        [
            Alert(
                kind=Alert.Kind.INCIDENT_PROPOSED,
                incident=incident,
                recipient_id=user_id,
                created_at=now,
                payload=payload,
            )
            for user_id in recipients
        ]
    )
    publish_on_commit([a.pk for a in alerts])
    return alerts


# --- pushing -------------------------------------------------------------------------------------


def publish_on_commit(alert_ids: list[int]) -> None:
    """After the current transaction commits, enqueue the fan-out of these alerts.

    Never raises: if the broker is unreachable the alerts stay unpushed and the periodic sweep
    (``sweep_pending_alerts``) enqueues them again. The request that declared the incident succeeds.
    """
    alert_ids = list(alert_ids)
    transaction.on_commit(lambda: enqueue_fan_out(alert_ids))


def enqueue_fan_out(alert_ids: list[int]) -> bool:
    """One task per alert, or per FAN_OUT_BATCH alerts when there are many (a declaration matching
    thousands of assigned tickets must not send thousands of broker messages from the request).
    Returns False, having logged why, if the broker refused; what was not enqueued waits for the sweep."""
    from notifications.tasks import fan_out_alert, fan_out_alerts

    for start in range(0, len(alert_ids), FAN_OUT_BATCH):
        batch = alert_ids[start : start + FAN_OUT_BATCH]
        try:
            if len(batch) == 1:
                fan_out_alert.delay(batch[0])
            else:
                fan_out_alerts.delay(batch)
        except Exception as exc:
            # Broker down (or, in eager mode, the layer down): the sweep will retry them all.
            log.warning("could not enqueue fan-out of %d alerts, left for the sweep: %r", len(batch), exc)
            return False
    return True


# A surge of tickets must not become a storm of queue refreshes on every agent's screen: at most one
# "the queue changed" hint per queue per window, across processes (the cache is Redis in production).
# The browser re-reads the queue QUEUE_HINT_DELAY_MS after a hint, longer than the window, so what
# committed during the window is on the page it fetches (static/js/queue.js).
QUEUE_HINT_WINDOW_SECONDS = 1
ALL_QUEUES = "*"


def queue_changed_on_commit(queue: str) -> None:
    """After commit, hint every staff socket that ``queue`` (or ``ALL_QUEUES``) has changed: a ticket
    arrived, or tickets were linked to an incident. A hint, not data: the page re-reads the queue."""

    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        getattr(pending, "queue_hint", None) == queue for _sids, pending, _robust in connection.run_on_commit
    ):
        # This transaction hints the queue already (a ticket linked to several incidents hints "*"
        # once, not once per incident). Safe with savepoints: a callback registered inside one that
        # rolls back was registered inside it too, or it is gone and this one is kept.
        return

    def hint() -> None:
        if not cache.add(f"queue-hint:{queue}", 1, QUEUE_HINT_WINDOW_SECONDS):
            return  # one went out in this window; the browser's delayed re-read covers this change
        try:
            async_to_sync(get_channel_layer().group_send)(
                STAFF_GROUP, {"type": "queue.changed", "queue": queue}
            )
        except Exception as exc:  # the layer down: the page is merely less fresh
            cache.delete(f"queue-hint:{queue}")  # nothing went out: the next change may hint again
            log.warning("queue hint for %s not sent: %r", queue, exc)

    hint.queue_hint = queue
    transaction.on_commit(hint)


def publish(group: str, event: dict) -> None:
    """Hand one event to the Channels layer for ``group``. At-most-once: a hint, the rows are the truth."""
    async_to_sync(get_channel_layer().group_send)(group, {"type": "alert.push", **event})


def alert_push(alert_id: int) -> bool:
    """Send the alert to its audience, then mark it pushed. Returns whether it sent.

    At-least-once: send first, mark second, so a crash between the two re-sends (browsers dedupe by
    id) rather than losing it. Already-pushed and deleted alerts are a no-op, so duplicates are harmless.
    """
    alert = Alert.objects.filter(pk=alert_id, pushed_at__isnull=True).first()
    if alert is None:
        return False
    publish(audience_of(alert), {"alert": alert_message(alert)})
    Alert.objects.filter(pk=alert_id, pushed_at__isnull=True).update(pushed_at=timezone.now())
    return True


def alerts_push(alert_ids: Iterable[int]) -> int:
    """Push a batch of alerts to their audiences, then mark them pushed. Returns how many it sent.

    The same guarantees as ``alert_push`` (send first, mark second; already-pushed and deleted alerts
    are skipped), in three steps whatever the batch size: one query loads the unpushed alerts, every
    ``group_send`` runs in one event loop, PUSH_CONCURRENCY at a time (one hop into async instead of
    one per alert, and Redis round trips overlapped: 3,000 assignees took 54 s one by one), one UPDATE marks the ones sent. If the layer
    refuses part-way, the ones sent before are marked, the rest stay for the sweep, and it re-raises.
    """
    alerts = list(Alert.objects.filter(pk__in=list(alert_ids), pushed_at__isnull=True).order_by("pk"))
    if not alerts:
        return 0
    messages = [
        (audience_of(alert), {"type": "alert.push", "alert": alert_message(alert)}) for alert in alerts
    ]
    sent: list[int] = []

    async def send_all() -> None:
        layer = get_channel_layer()
        # group_send is a few Redis round trips; overlapping them is what makes a batch fast.
        gate = asyncio.Semaphore(PUSH_CONCURRENCY)

        async def send(alert_id: int, group: str, message: dict) -> None:
            async with gate:
                await layer.group_send(group, message)
            sent.append(alert_id)

        results = await asyncio.gather(
            *(
                send(alert.pk, group, message)
                for alert, (group, message) in zip(alerts, messages, strict=True)
            ),
            return_exceptions=True,
        )
        if errors := [r for r in results if isinstance(r, BaseException)]:
            raise errors[0]

    try:
        async_to_sync(send_all)()
    finally:
        if sent:
            Alert.objects.filter(pk__in=sent, pushed_at__isnull=True).update(pushed_at=timezone.now())
    return len(sent)


def pending_alert_ids(*, now=None, limit: int = SWEEP_BATCH) -> list[int]:
    """Unpushed alerts old enough that their own on-commit push has evidently failed."""
    now = now or timezone.now()
    return list(
        Alert.objects.filter(pushed_at__isnull=True, created_at__lte=now - SWEEP_MIN_AGE)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


# --- what a user may see, and what their browser did with it -------------------------------------


def visible_alerts(user) -> Q:
    return Q(recipient__isnull=True) | Q(recipient_id=user.pk)


def receipt_record(*, alert_id: int, user, state: str) -> bool:
    """Upsert ``user``'s receipt for an alert they may see. Later states imply earlier ones; the first
    time of each state is kept. Returns False if the alert does not exist or is not theirs."""
    if state not in RECEIPT_STATES:
        raise ValueError(f"unknown receipt state {state!r}")
    if not Alert.objects.filter(visible_alerts(user), pk=alert_id).exists():
        return False
    now = timezone.now()
    # Insert-if-missing, then a single conditional UPDATE: safe when two tabs report at once.
    AlertReceipt.objects.bulk_create([AlertReceipt(alert_id=alert_id, user=user)], ignore_conflicts=True)
    fields = {"delivered_at": Coalesce("delivered_at", now)}
    if state in ("seen", "acknowledged"):
        fields["seen_at"] = Coalesce("seen_at", now)
    if state == "acknowledged":
        fields["acknowledged_at"] = Coalesce("acknowledged_at", now)
    AlertReceipt.objects.filter(alert_id=alert_id, user=user).update(**fields)
    return True
