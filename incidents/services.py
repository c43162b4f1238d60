"""State changes of incidents and of their ticket links. Views, the API and the demo seeding all go
through these.

Each runs in one transaction and announces what happened through ``incidents.signals`` inside it
(receivers write their rows at once and enqueue pushes on commit). Linking or detaching one ticket
by hand writes that ticket's timeline entry through ``tickets.services.timeline_record``; the
set-based links of a declaration or scope change write no entries: their link rows are the tickets'
record. Matching semantics and the race-freedom argument are in ``incidents/matching.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError, NotFound
from core.i18n import clean_texts
from customers.models import Area, EquipmentModel, Service, Subscription
from incidents import matching
from incidents.models import Incident, IncidentTicketLink, IncidentUpdate
from incidents.signals import announce_linked, incident_declared, incident_resolved, incident_updated
from tickets.models import Ticket, TicketEvent
from tickets.services import timeline_record

PREVIEW_SAMPLE = 10


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
    tickets: list[Ticket] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)


def _validate_common(*, kind: str | None = None, severity: int | None = None) -> None:
    if kind is not None and kind not in Incident.Kind.values:
        raise DomainError(_("Unknown kind."), field="kind")
    if severity is not None and severity not in Incident.Severity.values:
        raise DomainError(_("Severity is 1 (minor), 2 (major) or 3 (critical)."), field="severity")


@transaction.atomic
def incident_declare(
    *,
    title: str,
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
    try:
        with transaction.atomic():  # a concurrent twin with the same external key loses cleanly
            incident = Incident.objects.create(
                title=title,
                kind=kind,
                severity=severity,
                source=source,
                external_key=external_key or None,
                started_at=started_at or now,
                detected_at=now,
                eta=eta,
                description=description or "",
                public_message=clean_texts(public_message, name="public_message", required=True),
                agent_script=clean_texts(agent_script, name="agent_script"),
                workaround=clean_texts(workaround, name="workaround"),
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
) -> ScopeChangeResult:
    """Change an active incident's scope (``None`` leaves a dimension as it is).

    Widening links the newly covered open tickets (set-based, as on declaration); narrowing
    detaches the auto links whose tickets fall outside (set-based, reason "scope narrowed").
    Links a person made stay; links a person detached stay detached. Sends ``incident_updated``
    (scope_changed=True) and ``incident_linked`` for new links.
    """
    incident = _locked(incident)
    if not incident.is_active:
        raise DomainError(_("This incident is resolved; its scope can no longer change."), field="status")
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
) -> IncidentUpdate:
    """Post a public or internal update, optionally moving the status (not to resolved — use
    ``incident_resolve``) or the ETA. Sends ``incident_updated`` with the update."""
    incident = _locked(incident)
    texts = clean_texts(message, name="message", required=True)
    if status is not None and status not in Incident.Status.values:
        raise DomainError(_("Unknown status."), field="status")
    if status == Incident.Status.RESOLVED:
        raise DomainError(_("Resolve the incident to mark it resolved."), field="status")
    if status is not None and not incident.is_active:
        raise DomainError(_("This incident is resolved."), field="status")
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
    incident_updated.send(sender=Incident, incident=incident, actor=actor, update=update, scope_changed=False)
    return update


@transaction.atomic
def incident_resolve(*, incident: Incident, actor, message: dict | str | None = None) -> Incident:
    """Resolve the incident: it links nothing new from now on; its links stay (history).

    Takes the matching lock so no ticket matched concurrently is linked after the resolution
    commits. Writes a public update (with ``message`` when given). Sends ``incident_resolved``.
    """
    incident = _locked(incident)
    if not incident.is_active:
        raise DomainError(_("This incident is already resolved."), field="status")
    matching.lock_for_declaration()
    now = timezone.now()
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
    incident_resolved.send(sender=Incident, incident=incident, actor=actor)
    return incident


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
        ticket_count=tickets.count(),
        subscription_count=subscriptions.count(),
        tickets=list(tickets.select_related("customer", "service", "area").order_by("-created_at")[:sample]),
        subscriptions=list(
            subscriptions.select_related("customer", "service", "area", "equipment").order_by("id")[:sample]
        ),
    )
