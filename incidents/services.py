"""State changes of incidents and of their ticket links. Views, the API and the demo seeding all go
through these.

Each runs in one transaction and announces what happened through ``incidents.signals`` inside it
(receivers write their rows at once and enqueue pushes on commit). Linking or detaching one ticket
by hand writes that ticket's timeline entry through ``tickets.services.timeline_record``; the
set-based links of a declaration or scope change write no entries: their link rows are the tickets'
record. Matching semantics and the race-freedom argument are in ``incidents/matching.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import DomainError, NotFound
from core.i18n import clean_texts
from core.languages import LANGUAGE_CODES
from core.roles import is_staff_member
from customers.models import Area, EquipmentModel, Service, Subscription
from incidents import compensation, matching, sla
from incidents.models import Incident, IncidentTicketLink, IncidentUpdate
from incidents.signals import (
    announce_linked,
    incident_declared,
    incident_resolved,
    incident_tickets_kept_open,
    incident_updated,
    incident_withdrawn,
)
from tickets.models import Ticket, TicketEvent
from tickets.services import (
    bulk_ids,
    tickets_flag_for_attention,
    tickets_reply_bulk,
    tickets_resolve_bulk,
    timeline_record,
    timeline_record_bulk,
)

log = logging.getLogger(__name__)

PREVIEW_SAMPLE = 10
# A start "in the future" within this margin is clock skew between the ops person's machine and ours,
# not a planned start; beyond it only planned maintenance may start later.
START_SKEW = timedelta(minutes=2)


@dataclass(frozen=True)
class DeclareResult:
    incident: Incident
    linked_count: int
    affected_subscriptions: int


@dataclass(frozen=True)
class ScopeChangeResult:
    incident: Incident
    linked_count: int
    detached_count: int


@dataclass(frozen=True)
class Preview:
    ticket_count: int
    subscription_count: int
    # No dimension named: declaring it needs an explicit "affects every customer".
    scope_empty: bool = False
    tickets: list[Ticket] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)


def _validate_common(*, kind: str | None = None, severity: int | None = None) -> None:
    if kind is not None and kind not in Incident.Kind.values:
        raise DomainError(_("Unknown kind."), field="kind")
    if severity is not None and severity not in Incident.Severity.values:
        raise DomainError(_("Severity is 1 (minor), 2 (major) or 3 (critical)."), field="severity")


def scope_is_empty(*, services, areas, equipment, keywords) -> bool:
    """No dimension named: the scope covers every customer (see ``incidents.matching``)."""
    return not (list(services) or list(areas) or list(equipment) or matching.normalise_keywords(keywords))


def validate_declaration(
    *,
    kind: str,
    services: list,
    areas: list,
    equipment: list,
    keywords: Sequence[str],
    affects_everyone: bool,
    started_at: datetime,
    eta: datetime | None,
    now: datetime,
) -> None:
    """The guards a declaration passes wherever it comes from (form, API, webhook); the form's
    preview runs them too, to say what would be refused before the declare button is enabled."""
    if not affects_everyone and scope_is_empty(
        services=services, areas=areas, equipment=equipment, keywords=keywords
    ):
        # An empty scope links every open ticket and alerts every agent: only on purpose.
        raise DomainError(
            _(
                "The scope names no service, area, equipment or keyword, so it covers every customer. "
                "Narrow the scope, or confirm that it affects every customer."
            ),
            field="affects_everyone",
        )
    if started_at > now + START_SKEW and kind != Incident.Kind.MAINTENANCE:
        raise DomainError(_("Only planned maintenance can start in the future."), field="started_at")
    if eta is not None and eta <= started_at:
        raise DomainError(_("Expected fixed must be after the start."), field="eta")


@transaction.atomic
def incident_declare(
    *,
    title: str,
    titles: dict | None = None,
    kind: str,
    severity: int,
    services: Iterable[Service],
    areas: Iterable[Area],
    equipment: Iterable[EquipmentModel],
    keywords: Sequence[str] = (),
    public_message: dict | str,
    agent_script: dict | str | None = None,
    workaround: dict | str | None = None,
    started_at: datetime | None = None,
    eta: datetime | None = None,
    description: str = "",
    source: str = Incident.Source.MANUAL,
    external_key: str | None = None,
    notify_customers: bool | None = None,
    needs_scope: bool = False,
    affects_everyone: bool = False,
    proposal: Incident | None = None,
    actor,
) -> DeclareResult:
    """Declare an incident and link every open ticket its scope covers, in one transaction.

    Guarantees: the links are written set-based (one INSERT…SELECT, whatever the number of
    tickets; the link rows are the tickets' timeline record); a ticket opened concurrently is
    linked exactly once, by this call or by its own matching (``incidents.matching``); tickets
    opened meanwhile wait for this transaction (the matching lock) rather than miss it. Sends
    ``incident_declared`` and, when tickets were linked, ``incident_linked`` (origin "auto"), inside
    the transaction. A repeated ``external_key`` is refused (``DomainError`` on "external_key").
    ``notify_customers`` (None: by kind) says whether affected customers are e-mailed.
    With ``needs_scope`` (monitoring could not tell where) matching is held: nothing is linked until
    ops confirm a scope (``incidents.monitoring.incident_confirm_scope``).
    ``proposal``: a ``proposed`` incident (``incidents.surge``) that ops confirm: that row is
    declared (it becomes investigating, with this scope and texts) instead of a new one.

    Refused (``DomainError`` naming the field) before anything is written: an empty scope unless
    ``affects_everyone`` says so on purpose, or it is held (``needs_scope``) ("affects_everyone"); a
    start in the future unless the kind is maintenance ("started_at"); an ETA not after the start ("eta").
    """
    title = (title or "").strip()
    if not title:
        raise DomainError(_("Give the incident a title."), field="title")
    _validate_common(kind=kind, severity=severity)
    if source not in Incident.Source.values:
        raise DomainError(_("Unknown source."), field="source")
    if external_key and Incident.objects.filter(external_key=external_key).exists():
        raise DomainError(_("An incident with this external key exists."), field="external_key")
    now = timezone.now()
    services, areas, equipment = list(services), list(areas), list(equipment)
    texts = {
        "public_message": clean_texts(public_message, name="public_message", required=True),
        "agent_script": clean_texts(agent_script, name="agent_script"),
        "workaround": clean_texts(workaround, name="workaround"),
        # The title in customers' languages (``title`` is the fallback, and what staff read).
        "titles": clean_texts(titles, name="titles"),
    }
    validate_declaration(
        kind=kind,
        services=services,
        areas=areas,
        equipment=equipment,
        keywords=keywords,
        # A held scope links nothing until ops confirm one, so its emptiness is not "everyone".
        affects_everyone=affects_everyone or needs_scope,
        started_at=started_at or now,
        eta=eta,
        now=now,
    )
    fields = {
        "title": title,
        "kind": kind,
        "severity": severity,
        "status": Incident.Status.INVESTIGATING,
        "source": source,
        "needs_scope": needs_scope,
        "started_at": started_at or now,
        "detected_at": now,
        "eta": eta,
        "description": description or "",
        **texts,
        "keywords": matching.normalise_keywords(keywords),
        "notify_customers": Incident.notifies_customers_by_default(kind)
        if notify_customers is None
        else bool(notify_customers),
        "created_by": actor,
        "created_at": now,
        "updated_at": now,
    }
    if proposal is not None:
        incident = _locked(proposal)
        if incident.status != Incident.Status.PROPOSED:
            raise DomainError(_("This incident is not an open proposal."), field="status")
        fields["detected_at"] = incident.detected_at  # when the surge was seen, not when confirmed
        for name, value in fields.items():
            setattr(incident, name, value)
        incident.save()
    else:
        incident = None
    try:
        with transaction.atomic():  # a concurrent twin with the same external key loses cleanly
            incident = incident or Incident.objects.create(
                title=title,
                kind=kind,
                severity=severity,
                source=source,
                external_key=external_key or None,
                needs_scope=needs_scope,
                started_at=started_at or now,
                detected_at=now,
                eta=eta,
                description=description or "",
                **texts,
                keywords=matching.normalise_keywords(keywords),
                notify_customers=Incident.notifies_customers_by_default(kind)
                if notify_customers is None
                else bool(notify_customers),
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        raise DomainError(_("An incident with this external key exists."), field="external_key") from None
    incident.services.set(services)
    incident.areas.set(areas)
    incident.equipment.set(equipment)
    scope = matching.Scope.build(
        kind=kind,
        started_at=incident.started_at,
        services=services,
        areas=areas,
        equipment=equipment,
        keywords=incident.keywords,
        held=needs_scope,
    )
    # After the incident and its scope are written, before matching: see matching.py.
    matching.lock_for_declaration()
    ticket_ids = matching.attach_matching_tickets(incident, scope=scope)
    affected = scope.subscriptions().count()
    incident_declared.send(sender=Incident, incident=incident, actor=actor, linked_count=len(ticket_ids))
    announce_linked(
        incident=incident, ticket_ids=ticket_ids, origin=IncidentTicketLink.Origin.AUTO, actor=actor
    )
    return DeclareResult(incident=incident, linked_count=len(ticket_ids), affected_subscriptions=affected)


def _locked(incident: Incident) -> Incident:
    """Re-read the incident (in place) under a row lock, so concurrent changes to one incident queue
    up and the caller's object shows the result."""
    incident.refresh_from_db(from_queryset=Incident.objects.select_for_update())
    return incident


@transaction.atomic
def incident_change_scope(
    *,
    incident: Incident,
    actor,
    services: Iterable[Service] | None = None,
    areas: Iterable[Area] | None = None,
    equipment: Iterable[EquipmentModel] | None = None,
    keywords: Sequence[str] | None = None,
    affects_everyone: bool = False,
) -> ScopeChangeResult:
    """Change an active incident's scope (``None`` leaves a dimension as it is).

    Guarded as a declaration is: a change that leaves no dimension named, on an incident whose
    scope named one, would link every open ticket and alert every agent, so it is refused
    (``DomainError`` on "affects_everyone") unless ``affects_everyone`` says so on purpose.

    Widening links the newly covered open tickets (set-based, as on declaration); narrowing
    detaches the auto links whose tickets fall outside (set-based, reason "scope narrowed").
    Links a person made stay; links a person detached stay detached. Sends ``incident_updated``
    (scope_changed=True) and ``incident_linked`` for new links.
    """
    incident = _locked(incident)
    if not incident.is_active:
        raise DomainError(_("This incident is resolved; its scope can no longer change."), field="status")
    current = {
        "services": list(incident.services.all()),
        "areas": list(incident.areas.all()),
        "equipment": list(incident.equipment.all()),
        "keywords": incident.keywords or [],
    }
    after = {
        "services": current["services"] if services is None else list(services),
        "areas": current["areas"] if areas is None else list(areas),
        "equipment": current["equipment"] if equipment is None else list(equipment),
        "keywords": current["keywords"] if keywords is None else list(keywords),
    }
    if not affects_everyone and scope_is_empty(**after) and not scope_is_empty(**current):
        raise DomainError(
            _(
                "The scope would name no service, area, equipment or keyword, so it would cover every "
                "customer. Keep something in the scope, or confirm that it affects every customer."
            ),
            field="affects_everyone",
        )
    services, areas, equipment = after["services"], after["areas"], after["equipment"]
    if services is not None:
        incident.services.set(list(services))
    if areas is not None:
        incident.areas.set(list(areas))
    if equipment is not None:
        incident.equipment.set(list(equipment))
    if keywords is not None:
        incident.keywords = matching.normalise_keywords(keywords)
    incident.updated_at = timezone.now()
    incident.save(update_fields=["keywords", "updated_at"])
    scope = matching.Scope.of(incident)
    matching.lock_for_declaration()
    detached = matching.detach_no_longer_covered(incident, scope=scope)
    reattached = matching.reattach_system_detached(incident, scope=scope)
    ticket_ids = matching.attach_matching_tickets(incident, scope=scope)
    incident_updated.send(sender=Incident, incident=incident, actor=actor, update=None, scope_changed=True)
    announce_linked(
        incident=incident,
        ticket_ids=reattached + ticket_ids,
        origin=IncidentTicketLink.Origin.AUTO,
        actor=actor,
    )
    return ScopeChangeResult(
        incident=incident, linked_count=len(ticket_ids) + len(reattached), detached_count=detached
    )


@transaction.atomic
def incident_post_update(
    *,
    incident: Incident,
    actor,
    message: dict | str,
    public: bool = True,
    status: str | None = None,
    eta: datetime | None = None,
    reply_to_tickets: bool = False,
) -> IncidentUpdate:
    """Post a public or internal update, optionally moving the status (not to resolved — use
    ``incident_resolve``) or the ETA. Sends ``incident_updated`` with the update.

    ``reply_to_tickets``: a public update also goes, as a public reply, onto every attached open
    ticket, each in its customer's language — one set-based INSERT in this transaction
    (``tickets_reply_bulk``). ``update.replied_tickets`` says how many tickets got it."""
    incident = _locked(incident)
    texts = clean_texts(message, name="message", required=True)
    if reply_to_tickets and not public:
        raise DomainError(
            _("Only a public update can be sent to customers' tickets."), field="reply_to_tickets"
        )
    if status is not None and status not in Incident.Status.values:
        raise DomainError(_("Unknown status."), field="status")
    if status == Incident.Status.RESOLVED:
        raise DomainError(_("Resolve the incident to mark it resolved."), field="status")
    if status == Incident.Status.WITHDRAWN:
        raise DomainError(_("Withdraw the incident to mark it withdrawn."), field="status")
    if incident.is_withdrawn:
        raise DomainError(_("This incident was withdrawn."), field="status")
    if incident.is_proposed:
        raise DomainError(_("This incident is only proposed: confirm or dismiss it."), field="status")
    if status is not None and not incident.is_active:
        raise DomainError(_("This incident is resolved."), field="status")
    if eta is not None and not incident.is_active:
        raise DomainError(
            _("This incident is resolved: its expected fix time can no longer change."), field="eta"
        )
    now = timezone.now()
    update = IncidentUpdate.objects.create(
        incident=incident, public=public, message=texts, status=status or "", author=actor, created_at=now
    )
    if status:
        incident.status = status
    if eta is not None:
        incident.eta = eta
    incident.updated_at = now
    incident.save(update_fields=["status", "eta", "updated_at"])
    update.replied_tickets = 0
    if reply_to_tickets:
        replied = tickets_reply_bulk(
            tickets=_attached_open_tickets(incident),
            texts_by_language=texts,
            actor=actor,
            at=now,
            data={"incident": incident.pk, "update": update.pk},
        )
        update.replied_tickets = len(replied)
    incident_updated.send(sender=Incident, incident=incident, actor=actor, update=update, scope_changed=False)
    return update


def _attached_open_tickets(incident: Incident) -> QuerySet[Ticket]:
    attached = IncidentTicketLink.objects.filter(incident=incident, detached_at__isnull=True)
    return Ticket.objects.open().filter(pk__in=attached.values("ticket_id"))


def _stays_open_q() -> Q:
    """Links whose ticket an incident's resolution replies to but leaves open (``_claim_links``):
    marked keep open, or the customer wrote since the link."""
    customer_wrote_since_link = TicketEvent.objects.filter(
        ticket=OuterRef("ticket_id"),
        kind=TicketEvent.Kind.CUSTOMER_MESSAGE,
        created_at__gt=OuterRef("created_at"),
    )
    return Q(ticket__keep_open=True) | Q(Exists(customer_wrote_since_link))


@transaction.atomic
def incident_resolve(*, incident: Incident, actor, message: dict | str | None = None) -> Incident:
    """Resolve the incident: it links nothing new from now on; its links stay (history).

    Takes the matching lock so no ticket matched concurrently is linked after the resolution
    commits. Linked tickets the resolution will leave open (keep open, or the customer wrote since
    the link) get the time they waited on it added to their SLA due time (``incidents.sla``). Writes a public update (with ``message`` when given). Sends ``incident_resolved``.
    """
    incident = _locked(incident)
    if incident.is_proposed:
        raise DomainError(_("This incident is only proposed: confirm or dismiss it."), field="status")
    if not incident.is_active:
        raise DomainError(_("This incident is already resolved."), field="status")
    matching.lock_for_declaration()
    now = timezone.now()
    # Before it ends: the tickets its resolution will leave open get their paused time back. The
    # others are resolved by close-the-loop (their due time no longer matters), and shifting 100,000
    # due times here would cost more than closing the loop on them.
    sla.resume(ending=IncidentTicketLink.objects.filter(incident=incident).filter(_stays_open_q()), at=now)
    IncidentUpdate.objects.create(
        incident=incident,
        public=True,
        message=clean_texts(message, name="message"),
        status=Incident.Status.RESOLVED,
        author=actor,
        created_at=now,
    )
    incident.status = Incident.Status.RESOLVED
    incident.resolved_at = now
    incident.updated_at = now
    incident.save(update_fields=["status", "resolved_at", "updated_at"])
    compensation.credits_compute(incident)  # outages: one credit per affected subscription
    incident_resolved.send(sender=Incident, incident=incident, actor=actor)
    close_the_loop_on_commit(incident.pk)
    return incident


@dataclass(frozen=True)
class WithdrawResult:
    incident: Incident
    detached_count: int


@transaction.atomic
def incident_withdraw(*, incident: Incident, actor, reason: str) -> WithdrawResult:
    """Withdraw an incident declared by mistake (active or resolved; not twice).

    Guarantees, in one transaction: every attached link is detached set-based (one UPDATE, whatever
    the number; rows stay, with who, when and ``reason``), automatic and hand-made alike, since the
    incident explains nothing; the incident leaves the status page, customers' pages, look-ups,
    banners and matching (``Incident.objects.active()``); an internal update records who withdrew it
    and why (the audit trail stays). Takes the matching lock, so no ticket matched concurrently is
    linked after this commits. Sends ``incident_withdrawn`` (agents are told live).
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the incident is withdrawn."), field="reason")
    incident = _locked(incident)
    if incident.is_withdrawn:
        raise DomainError(_("This incident was already withdrawn."), field="status")
    if incident.is_proposed:
        raise DomainError(_("This incident is only proposed: confirm or dismiss it."), field="status")
    matching.lock_for_declaration()
    now = timezone.now()
    attached = IncidentTicketLink.objects.filter(incident=incident, detached_at__isnull=True)
    sla.resume(ending=attached, at=now)  # a resolved incident's tickets were resumed at its resolve
    detached = attached.update(detached_at=now, detached_by=actor, detach_reason=reason[:300])
    IncidentUpdate.objects.create(
        incident=incident,
        public=False,
        message=clean_texts(reason[:5000], name="reason"),
        status=Incident.Status.WITHDRAWN,
        author=actor,
        created_at=now,
    )
    incident.status = Incident.Status.WITHDRAWN
    incident.updated_at = now
    incident.save(update_fields=["status", "updated_at"])
    incident_withdrawn.send(
        sender=Incident, incident=incident, actor=actor, reason=reason, detached_count=detached
    )
    return WithdrawResult(incident=incident, detached_count=detached)


# Stored as data in every language (the public update of a reopening without a message of its own).
REOPENED = gettext_noop("The fault is back. We are working on it again.")


def _in_every_language(text: str) -> dict[str, str]:
    texts = {}
    for lang in LANGUAGE_CODES:
        with translation.override(lang):
            texts[lang] = _(text)
    return texts


@transaction.atomic
def incident_reopen(*, incident: Incident, actor, message: dict | str | None = None) -> DeclareResult:
    """Reopen a resolved incident: the fault is back.

    Guarantees, in one transaction: the incident is active again (investigating, no ``resolved_at``)
    with a public update saying so (``message`` when given); it re-matches set-based as a declaration
    does (matching lock, one INSERT…SELECT): open tickets its scope covers now are linked, links the
    system detached come back, links a person detached stay detached. Sends ``incident_updated``
    with the update (agents are alerted) and ``incident_linked`` for the links. A withdrawn or
    active incident is refused.
    """
    incident = _locked(incident)
    if incident.status != Incident.Status.RESOLVED:
        raise DomainError(_("Only a resolved incident can be reopened."), field="status")
    now = timezone.now()
    texts = clean_texts(message, name="message") or _in_every_language(REOPENED)
    update = IncidentUpdate.objects.create(
        incident=incident,
        public=True,
        message=texts,
        status=Incident.Status.INVESTIGATING,
        author=actor,
        created_at=now,
    )
    incident.status = Incident.Status.INVESTIGATING
    incident.resolved_at = None
    incident.reopened_at = now  # its attached links pause their tickets' SLA again from now
    incident.updated_at = now
    incident.save(update_fields=["status", "resolved_at", "reopened_at", "updated_at"])
    scope = matching.Scope.of(incident)
    matching.lock_for_declaration()  # after the status is written: see matching.py
    reattached = matching.reattach_system_detached(incident, scope=scope)
    ticket_ids = matching.attach_matching_tickets(incident, scope=scope)
    affected = scope.subscriptions().count()
    incident_updated.send(sender=Incident, incident=incident, actor=actor, update=update, scope_changed=False)
    announce_linked(
        incident=incident,
        ticket_ids=reattached + ticket_ids,
        origin=IncidentTicketLink.Origin.AUTO,
        actor=actor,
    )
    return DeclareResult(
        incident=incident, linked_count=len(ticket_ids) + len(reattached), affected_subscriptions=affected
    )


def _overwrite(link: IncidentTicketLink, values: dict) -> IncidentTicketLink:
    for name, value in values.items():
        setattr(link, name, value)
    link.save()
    return link


@transaction.atomic
def incident_link_ticket(*, incident: Incident, ticket: Ticket, actor) -> IncidentTicketLink:
    """Link a ticket by hand (an agent or tech who knows better than matching).

    Idempotent for an attached link; a detached one is re-attached as the person's link. Writes an
    "incident-linked" timeline entry and sends ``incident_linked`` (origin "agent").
    """
    if not _locked(incident).is_active:
        raise DomainError(_("This incident is resolved."), field="incident")
    now = timezone.now()
    link = IncidentTicketLink.objects.select_for_update().filter(incident=incident, ticket=ticket).first()
    if link is not None and link.attached:
        return link
    values = {
        "origin": IncidentTicketLink.Origin.AGENT,
        "linked_by": actor,
        "score": matching.SCORE_CERTAIN,
        "reasons": {"manual": actor.get_username() if actor else ""},
        "created_at": now,
        "detached_at": None,
        "detached_by": None,
        "detach_reason": "",
    }
    if link is None:
        try:
            with transaction.atomic():
                link = IncidentTicketLink.objects.create(incident=incident, ticket=ticket, **values)
        except IntegrityError:  # matched at the same moment: take that row over
            link = IncidentTicketLink.objects.select_for_update().get(incident=incident, ticket=ticket)
            link = _overwrite(link, values)
    else:
        link = _overwrite(link, values)
    timeline_record(
        ticket=ticket,
        kind=TicketEvent.Kind.INCIDENT_LINKED,
        actor=actor,
        at=now,
        data={"incident": incident.pk, "title": incident.title, "origin": IncidentTicketLink.Origin.AGENT},
    )
    announce_linked(
        incident=incident, ticket_ids=[ticket.pk], origin=IncidentTicketLink.Origin.AGENT, actor=actor
    )
    return link


@transaction.atomic
def incident_link_tickets(*, incident: Incident, ticket_ids: Iterable[int], actor) -> list[int]:
    """Link many open tickets by hand at once (the queue's bulk bar, a cluster of similar tickets):
    for each, what ``incident_link_ticket`` does for one, set-based.

    Each newly linked ticket gets the person's link (origin "agent", certain, ``reasons`` naming who;
    a detached link is re-attached as the person's), its "incident-linked" timeline entry, and with
    that its SLA clock stops while the incident is active (``incidents.sla``: a pause is a link).
    ``incident_linked`` is sent once for all of them (the live queue's hint after commit; a person
    linking tells no customer, one by one or many). Idempotent: a ticket already attached is skipped
    (no entry, not counted), and so is one matching attaches at the same moment (the unique key
    settles it). Tickets that are not open, and unknown ids, are left out. A fixed number of
    statements whatever the count: the incident locked, one ``INSERT … SELECT … ON CONFLICT DO UPDATE
    … WHERE detached`` returning the tickets linked, one INSERT of their entries. Returns their ids.
    """
    if actor is None or not is_staff_member(actor):
        raise DomainError(_("Only staff can link tickets."))
    ids = bulk_ids(ticket_ids)
    if not _locked(incident).is_active:
        raise DomainError(_("This incident is resolved."), field="incident")
    if not ids:
        return []
    now = timezone.now()
    table = connection.ops.quote_name(IncidentTicketLink._meta.db_table)
    # The same values as incident_link_ticket's; a detached row takes them over, an attached one
    # stays as it is (and is not returned).
    rows = matching.insert_select(
        IncidentTicketLink,
        {
            "incident": Value(incident.pk),
            "ticket": F("id"),
            "score": Value(matching.SCORE_CERTAIN, output_field=models.FloatField()),
            "reasons": matching.json_value({"manual": actor.get_username()}),
            "origin": Value(IncidentTicketLink.Origin.AGENT),
            "linked_by": Value(actor.pk, output_field=models.IntegerField()),
            "created_at": Value(now, output_field=models.DateTimeField()),
            "detach_reason": Value(""),
        },
        Ticket.objects.open().filter(pk__in=ids),
        on_conflict=(
            "ON CONFLICT (incident_id, ticket_id) DO UPDATE SET score = excluded.score, "
            "reasons = excluded.reasons, origin = excluded.origin, linked_by_id = excluded.linked_by_id, "
            "created_at = excluded.created_at, detached_at = NULL, detached_by_id = NULL, "
            f"detach_reason = '' WHERE {table}.detached_at IS NOT NULL"
        ),
        returning="ticket_id",
    )
    linked = sorted(rows)
    if not linked:
        return []
    timeline_record_bulk(
        TicketEvent(
            ticket_id=ticket_id,
            kind=TicketEvent.Kind.INCIDENT_LINKED,
            actor=actor,
            created_at=now,
            data={
                "incident": incident.pk,
                "title": incident.title,
                "origin": IncidentTicketLink.Origin.AGENT,
            },
        )
        for ticket_id in linked
    )
    announce_linked(incident=incident, ticket_ids=linked, origin=IncidentTicketLink.Origin.AGENT, actor=actor)
    return linked


@transaction.atomic
def incident_detach_ticket(
    *, incident: Incident, ticket: Ticket, actor, reason: str = ""
) -> IncidentTicketLink:
    """Detach a ticket from an incident. The row stays, so matching never re-attaches it (only a
    person linking it again does). Writes an "incident-detached" timeline entry."""
    link = (
        IncidentTicketLink.objects.select_for_update()
        .filter(incident=incident, ticket=ticket, detached_at__isnull=True)
        .first()
    )
    if link is None:
        raise NotFound(_("This ticket is not linked to this incident."), field="reference")
    now = timezone.now()
    sla.resume(ending=IncidentTicketLink.objects.filter(pk=link.pk), at=now)
    link.detached_at = now
    link.detached_by = actor
    link.detach_reason = (reason or "").strip()[:300]
    link.save(update_fields=["detached_at", "detached_by", "detach_reason"])
    timeline_record(
        ticket=ticket,
        kind=TicketEvent.Kind.INCIDENT_DETACHED,
        actor=actor,
        at=now,
        body=link.detach_reason,
        data={"incident": incident.pk, "title": incident.title, "reason": link.detach_reason},
    )
    return link


def incident_preview(
    *,
    kind: str,
    services: Iterable[Service] = (),
    areas: Iterable[Area] = (),
    equipment: Iterable[EquipmentModel] = (),
    keywords: Sequence[str] = (),
    started_at: datetime | None = None,
    sample: int = PREVIEW_SAMPLE,
) -> Preview:
    """What declaring this scope would touch: open tickets it would link and active subscriptions
    it covers, counted, with a sample of each. Writes nothing."""
    _validate_common(kind=kind)
    services, areas, equipment = list(services), list(areas), list(equipment)
    scope = matching.Scope.build(
        kind=kind,
        started_at=started_at or timezone.now(),
        services=services,
        areas=areas,
        equipment=equipment,
        keywords=keywords,
    )
    tickets = scope.open_tickets()
    subscriptions = scope.subscriptions()
    return Preview(
        scope_empty=scope_is_empty(services=services, areas=areas, equipment=equipment, keywords=keywords),
        ticket_count=tickets.count(),
        subscription_count=subscriptions.count(),
        tickets=list(tickets.select_related("customer", "service", "area").order_by("-created_at")[:sample]),
        subscriptions=list(
            subscriptions.select_related("customer", "service", "area", "equipment").order_by("id")[:sample]
        ),
    )


# --- closing the loop: the resolution reaches every linked open ticket ------------------------------

RESOLUTION_CHUNK = 1000
# The sweep re-enqueues resolutions whose tickets are not all replied to, for this long after the
# resolve; it leaves the first SWEEP_GRACE to the task enqueued on commit.
SWEEP_WINDOW = timedelta(days=7)
SWEEP_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class LoopClosed:
    replied: int = 0
    resolved: int = 0
    kept_open: int = 0


def close_the_loop_on_commit(incident_id: int) -> None:
    """After the current transaction commits, enqueue ``incidents.tasks.close_the_loop``. Never
    raises: with the broker down the resolve still succeeds and the periodic sweep enqueues it later."""

    def enqueue() -> None:
        from incidents.tasks import close_the_loop

        try:
            close_the_loop.delay(incident_id)
        except Exception as exc:
            log.warning("could not enqueue close_the_loop(%s), left for the sweep: %r", incident_id, exc)

    transaction.on_commit(enqueue)


def resolution_texts(incident: Incident) -> dict[str, str]:
    """The resolution reply per language: what ops wrote when resolving (``text_in`` picks from it
    per customer), else our apology, in each language."""
    update = incident.updates.filter(status=Incident.Status.RESOLVED).order_by("-created_at", "-id").first()
    if update is not None and update.message:
        return dict(update.message)
    texts = {}
    for language in LANGUAGE_CODES:
        with translation.override(language):
            texts[language] = _(
                "The fault “%(title)s” has been fixed. We are sorry for the trouble it caused you. "
                "If something still does not work, reply here and we will look at it."
            ) % {"title": incident.title}
    return texts


def incident_close_linked_tickets(*, incident_id: int, chunk: int = RESOLUTION_CHUNK) -> LoopClosed:
    """After an incident is resolved: every attached open ticket gets the resolution message as a
    public reply in its customer's language, and is resolved (with its status entry). Exceptions: a
    ticket marked "keep open", or one where the customer wrote after it was linked, gets the reply but
    stays open, flagged ``needs_attention``, and its assignee is alerted (``incident_tickets_kept_open``).

    Guarantees: each ticket gets exactly one resolution reply per incident, however often this runs,
    concurrently or after a worker died half-way. Work goes in chunks of ``chunk`` links, each one
    transaction that claims its links (``resolution_replied_at``, under row locks taken with SKIP
    LOCKED so a concurrent run takes other links) together with the replies and status changes it
    writes: a chunk commits whole or not at all. Set-based per chunk: one claim (on PostgreSQL a single
    ``UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``), one INSERT of replies, one
    UPDATE feeding one INSERT for the resolutions.

    The chunks walk the incident's links in ticket order (a keyset on the unique (incident, ticket)
    index), so each chunk reads only its own links instead of re-scanning the ones already done. A
    run finishes only after a pass from the start finds nothing left: links a concurrent run held
    (and then gave up, dying) when this one passed them are picked up then, or by the sweep."""
    incident = Incident.objects.filter(pk=incident_id, status=Incident.Status.RESOLVED).first()
    if incident is None:  # gone, or reopened since: nothing to close
        return LoopClosed()
    texts = resolution_texts(incident)
    replied = resolved = kept = 0
    after, fresh_pass = 0, True
    while True:
        with transaction.atomic():
            _commit_without_waiting_for_disk()
            done = _close_chunk(incident, texts=texts, limit=chunk, after=after)
        if done is None:
            if fresh_pass:
                return LoopClosed(replied=replied, resolved=resolved, kept_open=kept)
            after, fresh_pass = 0, True  # once more from the start, for links skipped while locked
            continue
        fresh_pass = False
        after = done.last_ticket_id
        replied += done.replied
        resolved += done.resolved
        kept += done.kept_open


def _commit_without_waiting_for_disk() -> None:
    """PostgreSQL: this transaction's COMMIT returns before its WAL reaches the disk (a third of a
    chunk's time on a busy machine). Safe here: the claim and the replies commit or vanish together, so
    a database crash losing the last chunks only leaves them unclaimed for the sweep to redo."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


@dataclass(frozen=True)
class _Chunk(LoopClosed):
    last_ticket_id: int = 0


def _claim_links(incident: Incident, *, after: int, limit: int, now) -> list[tuple[int, bool, bool]]:
    """Claim (``resolution_replied_at = now``) up to ``limit`` unclaimed attached links of open
    tickets with a ticket id above ``after``, in ticket order, skipping links another run holds.
    Returns (ticket id, keep open, customer wrote since the link) per claimed link."""
    if connection.vendor == "postgresql":
        return _claim_links_sql(incident, after=after, limit=limit, now=now)
    customer_wrote_since_link = TicketEvent.objects.filter(
        ticket=OuterRef("ticket_id"),
        kind=TicketEvent.Kind.CUSTOMER_MESSAGE,
        created_at__gt=OuterRef("created_at"),
    )
    links = list(
        IncidentTicketLink.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            incident=incident,
            ticket_id__gt=after,
            detached_at__isnull=True,
            resolution_replied_at__isnull=True,
            ticket__status__in=Ticket.OPEN_STATUSES,
        )
        .annotate(customer_wrote=Exists(customer_wrote_since_link))
        .order_by("ticket_id")
        .values_list("pk", "ticket_id", "ticket__keep_open", "customer_wrote")[:limit]
    )
    claimed = IncidentTicketLink.objects.filter(
        pk__in=[pk for pk, *_rest in links], resolution_replied_at__isnull=True
    ).update(resolution_replied_at=now)
    if claimed != len(links):  # cannot happen while we hold their locks; refuse rather than double-reply
        raise RuntimeError(f"claimed {claimed} of {len(links)} locked links of incident {incident.pk}")
    return [(ticket_id, keep_open, wrote) for _pk, ticket_id, keep_open, wrote in links]


def _claim_links_sql(incident: Incident, *, after: int, limit: int, now) -> list[tuple[int, bool, bool]]:
    # One statement: the locking read walks link_incident_ticket_unique from ``after`` and stops at
    # ``limit`` rows; the UPDATE claims exactly the rows it locked (still unclaimed: we hold them).
    link, ticket, event = (m._meta.db_table for m in (IncidentTicketLink, Ticket, TicketEvent))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH picked AS (
                SELECT l.id, l.ticket_id, t.keep_open,
                       EXISTS (SELECT 1 FROM {event} e WHERE e.ticket_id = l.ticket_id
                               AND e.created_at > l.created_at AND e.kind = %s) AS wrote
                FROM {link} l JOIN {ticket} t ON t.id = l.ticket_id
                WHERE l.incident_id = %s AND l.ticket_id > %s AND t.id > %s AND l.detached_at IS NULL
                      AND l.resolution_replied_at IS NULL AND t.status IN %s
                ORDER BY l.ticket_id
                LIMIT %s
                FOR UPDATE OF l SKIP LOCKED
            )
            UPDATE {link} l SET resolution_replied_at = %s
            FROM picked WHERE l.id = picked.id
            RETURNING picked.ticket_id, picked.keep_open, picked.wrote
            """,
            [
                TicketEvent.Kind.CUSTOMER_MESSAGE,
                incident.pk,
                after,
                after,  # the same bound on the ticket side: a merge join then starts there too
                tuple(Ticket.OPEN_STATUSES),
                limit,
                now,
            ],
        )
        return sorted(cursor.fetchall())


def _close_chunk(incident: Incident, *, texts: dict[str, str], limit: int, after: int = 0) -> _Chunk | None:
    now = timezone.now()
    links = _claim_links(incident, after=after, limit=limit, now=now)
    if not links:
        return None
    ticket_ids = [ticket_id for ticket_id, _keep, _wrote in links]
    keep = [ticket_id for ticket_id, keep_open, wrote in links if keep_open or wrote]
    kept = set(keep)
    tickets_reply_bulk(
        tickets=Ticket.objects.filter(pk__in=ticket_ids),
        texts_by_language=texts,
        at=now,
        data={"incident": incident.pk, "resolution": True},
        touch=False,  # the resolve and the flag below update every one of them
    )
    resolved = tickets_resolve_bulk(
        ticket_ids=[pk for pk in ticket_ids if pk not in kept],
        at=now,
        data={"incident": incident.pk, "incident_title": incident.title},
    )
    if keep:
        tickets_flag_for_attention(ticket_ids=keep, at=now)
        incident_tickets_kept_open.send(sender=Incident, incident=incident, ticket_ids=keep)
    return _Chunk(
        replied=len(ticket_ids), resolved=len(resolved), kept_open=len(keep), last_ticket_id=ticket_ids[-1]
    )


def resolutions_left_open(*, now: datetime | None = None) -> list[int]:
    """Resolved incidents (of the last week, resolved over SWEEP_GRACE ago) with an attached open
    ticket still without its resolution reply: the close-the-loop task died or was never enqueued."""
    now = now or timezone.now()
    pending = IncidentTicketLink.objects.filter(
        incident=OuterRef("pk"),
        detached_at__isnull=True,
        resolution_replied_at__isnull=True,
        ticket__status__in=Ticket.OPEN_STATUSES,
    )
    return list(
        Incident.objects.filter(
            status=Incident.Status.RESOLVED,
            resolved_at__gte=now - SWEEP_WINDOW,
            resolved_at__lte=now - SWEEP_GRACE,
        )
        .filter(Exists(pending))
        .order_by("resolved_at")
        .values_list("pk", flat=True)[:100]
    )
