"""Which tickets an incident explains — matched both ways, set-based, race-free, with reasons.

Scope semantics
---------------
An incident *covers* a ticket when all of these hold:

* the ticket is open (``Ticket.OPEN_STATUSES``);
* it was opened at or after ``incident.started_at - settings.INCIDENT_LOOKBACK`` (customers call
  about a fault before operations notice it). Known-issue incidents (a defect in an equipment
  model or software) have no time window: every open ticket on that equipment is explained;
* it matches every dimension the scope names. A dimension left empty matches everything:

  - **service**: the ticket's service is one of those listed;
  - **area**: the ticket's area lies in the subtree of any listed area (``Area.path`` is a
    materialised path, ``se/se-ab/se-ab-0180/``, so "in the subtree" is a path prefix test);
  - **equipment**: the ticket's equipment model is one of those listed;
  - **keywords** (optional): any keyword occurs, case-insensitively, in the subject or description.

The ticket's service, area and equipment are its *effective* values (given, else from the
subscription, else — service only — guessed from the text by ``tickets.lexicon``). A link whose
service was guessed from the text gets a lower score and says so in its reasons.

A ticket that becomes resolved or closed keeps its links (they are its history). Subscriptions are
matched on service/area/equipment only (keywords are about what a customer wrote).

Both ways
---------
* **Declaration side** (``attach_matching_tickets``): one ``INSERT … SELECT … ON CONFLICT DO
  NOTHING`` writes every link; the SELECT is built with the ORM so it runs on PostgreSQL and SQLite.
  A detached link stays as a row, so the ``ON CONFLICT`` never re-attaches a ticket a person detached.
* **Ticket side** (``match_ticket``): called from the ``tickets.signals.ticket_changed`` receiver
  inside the transaction that wrote the ticket: one candidate query over the active incidents
  (service/area/equipment/time in SQL, keywords in Python with ``casefold``), and for a match one
  read of the scopes (for the reasons; cached) and one bulk insert.

Race-freedom (PostgreSQL)
-------------------------
Without care, a ticket committed while an incident is being declared could be missed by both
sides: the declaration's SELECT does not see the uncommitted ticket, and the ticket's candidate
query does not see the uncommitted incident. We serialise the two *matching steps* (not the
writes) with one transaction-scoped advisory lock, ``LOCK_KEY``:

* a declaration or scope change takes it **exclusively** after writing the incident and its scope,
  then runs its INSERT…SELECT, and keeps the lock until its transaction commits;
* the ticket side takes it **shared** after writing the ticket, then runs its candidate query, and
  keeps it until the ticket's transaction commits. Tickets do not block each other.

Under READ COMMITTED each statement sees what was committed before it started. Whoever gets the
lock second starts its matching statement after the first one's transaction committed (the lock is
only released at commit), so it sees the other's row and links; whoever got it first could not see
the other's row, because that row's transaction had not committed (it was still waiting for the
lock). So exactly one side links each pair; the unique constraint on (incident, ticket) turns any
remaining overlap (a person linking by hand at the same moment) into a no-op. This relies on READ
COMMITTED (Django's default on PostgreSQL; under REPEATABLE READ the snapshot would predate the
lock). The price: tickets opened during a declaration wait for its commit (a few seconds for
100,000 links). SQLite has a single writer, so the locks are skipped there. The race test in
tests/incidents/test_race_free_matching.py fails when either lock is removed.

Timeline
--------
Automatic matching writes no ``TicketEvent`` rows: the link row *is* the record (when, which
incident, why, and — once detached — when and why). Duplicating it as one event per ticket would
double the writes of the one operation that must be fast at the worst moment (a declaration
linking 100,000 tickets: see bench/README.md). A ticket's timeline shows its links from
``ticket.incident_links``. What a *person* does — linking or detaching by hand — is written as an
"incident-linked" / "incident-detached" event with the actor, by ``incidents.services``.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce

from django.conf import settings
from django.db import connection, models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_noop

from customers.models import Area, EquipmentModel, Service, Subscription
from incidents.models import Incident, IncidentTicketLink
from tickets.models import Ticket

# The one advisory-lock key for incident matching (an arbitrary constant, "SD-MATCH").
LOCK_KEY = 0x5D_4D415443
# A link whose service was only guessed from the ticket's words is less certain.
SCORE_CERTAIN = 1.0
SCORE_SERVICE_GUESSED = 0.6
# Reason texts are stored untranslated (they are data) and translated when shown.
REASON_SERVICE_GUESSED = gettext_noop("service guessed from text")
REASON_SCOPE_NARROWED = gettext_noop("scope narrowed")
REASON_TICKET_CHANGED = gettext_noop("ticket no longer matches")


def lock_for_declaration() -> None:
    """Exclusive matching lock, held to the end of the transaction (PostgreSQL only)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def lock_for_ticket() -> None:
    """Shared matching lock, held to the end of the transaction (PostgreSQL only)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [LOCK_KEY])


def normalise_keywords(keywords: Iterable[str] | None) -> list[str]:
    """Stripped, non-empty, de-duplicated (case-insensitively), in the order given."""
    seen: set[str] = set()
    result = []
    for keyword in keywords or ():
        keyword = str(keyword).strip()
        if keyword and keyword.casefold() not in seen:
            seen.add(keyword.casefold())
            result.append(keyword)
    return result


def keywords_match(keywords: Sequence[str], subject: str, description: str) -> bool:
    if not keywords:
        return True
    text = f"{subject}\n{description}".casefold()
    return any(k.casefold() in text for k in keywords)


@dataclass(frozen=True)
class Scope:
    """What an incident covers, resolved to ids (for SQL) and codes (for reasons)."""

    service_ids: tuple[int, ...] = ()
    service_codes: tuple[str, ...] = ()
    area_ids: tuple[int, ...] = ()
    area_paths: tuple[str, ...] = ()
    area_codes: tuple[str, ...] = ()
    equipment_ids: tuple[int, ...] = ()
    equipment_codes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    # Tickets opened at or after this are covered; None: no time window (known issues).
    since: datetime | None = None

    @classmethod
    def build(
        cls,
        *,
        kind: str,
        started_at: datetime,
        services: Iterable[Service] = (),
        areas: Iterable[Area] = (),
        equipment: Iterable[EquipmentModel] = (),
        keywords: Iterable[str] = (),
    ) -> Scope:
        services, areas, equipment = list(services), list(areas), list(equipment)
        return cls(
            service_ids=tuple(s.pk for s in services),
            service_codes=tuple(s.code for s in services),
            area_ids=tuple(a.pk for a in areas),
            area_paths=tuple(a.path for a in areas),
            area_codes=tuple(a.code for a in areas),
            equipment_ids=tuple(e.pk for e in equipment),
            equipment_codes=tuple(e.code for e in equipment),
            keywords=tuple(normalise_keywords(keywords)),
            since=None if kind == Incident.Kind.KNOWN_ISSUE else started_at - settings.INCIDENT_LOOKBACK,
        )

    @classmethod
    def of(cls, incident: Incident) -> Scope:
        """The incident's scope (uses prefetched services/areas/equipment when present)."""
        return cls.build(
            kind=incident.kind,
            started_at=incident.started_at,
            services=incident.services.all(),
            areas=incident.areas.all(),
            equipment=incident.equipment.all(),
            keywords=incident.keywords,
        )

    # --- SQL ------------------------------------------------------------------------------------

    def _area_subtree_ids(self) -> models.QuerySet[Area]:
        # A subquery, so PostgreSQL can use the ticket (area, created_at) index with the ids it finds.
        return Area.objects.filter(reduce(operator.or_, (Q(path__startswith=p) for p in self.area_paths)))

    def dimensions_q(self, *, with_keywords: bool = True) -> Q:
        """Service/area/equipment (and keywords) as a filter on tickets; empty dimensions add nothing."""
        q = Q()
        if self.service_ids:
            q &= Q(service_id__in=self.service_ids)
        if self.area_paths:
            q &= Q(area_id__in=self._area_subtree_ids().values("id"))
        if self.equipment_ids:
            q &= Q(equipment_id__in=self.equipment_ids)
        if with_keywords and self.keywords:
            q &= reduce(
                operator.or_,
                (Q(subject__icontains=k) | Q(description__icontains=k) for k in self.keywords),
            )
        return q

    def open_tickets(self) -> models.QuerySet[Ticket]:
        """The open tickets this scope covers now."""
        qs = Ticket.objects.open().filter(self.dimensions_q())
        if self.since is not None:
            qs = qs.filter(created_at__gte=self.since)
        return qs

    def subscriptions(self) -> models.QuerySet[Subscription]:
        """Active subscriptions in scope (keywords do not apply to subscriptions)."""
        q = Q(active=True)
        if self.service_ids:
            q &= Q(service_id__in=self.service_ids)
        if self.area_paths:
            q &= Q(area_id__in=self._area_subtree_ids().values("id"))
        if self.equipment_ids:
            q &= Q(equipment_id__in=self.equipment_ids)
        return Subscription.objects.filter(q)

    # --- reasons --------------------------------------------------------------------------------

    def reasons(self, *, service_guessed: bool) -> dict:
        """Which dimensions matched and with which values; the same for every ticket of the incident
        (so the set-based insert can carry it as a constant)."""
        reasons: dict = {}
        if self.service_codes:
            reasons["service"] = list(self.service_codes)
        if self.area_codes:
            reasons["area"] = list(self.area_codes)
        if self.equipment_codes:
            reasons["equipment"] = list(self.equipment_codes)
        if self.keywords:
            reasons["keywords"] = list(self.keywords)
        reasons["time"] = {"since": self.since.isoformat()} if self.since else "known-issue"
        if service_guessed and self.service_ids:
            reasons["note"] = REASON_SERVICE_GUESSED
        return reasons

    def score(self, *, service_guessed: bool) -> float:
        return SCORE_SERVICE_GUESSED if service_guessed and self.service_ids else SCORE_CERTAIN


# --- the declaration side ---------------------------------------------------------------------


def _json(value) -> Cast:
    """A constant JSON value usable in a SELECT list (jsonb on PostgreSQL, text on SQLite)."""
    return Cast(Value(json.dumps(value)), output_field=models.JSONField())


def _insert_select(
    model: type[models.Model],
    columns: dict[str, models.Expression | F | Value],
    queryset: models.QuerySet,
    *,
    on_conflict: str = "",
    returning: str = "",
) -> list:
    """``INSERT INTO model (columns) SELECT … FROM queryset`` in one statement.

    The SELECT comes from the ORM (``annotate`` + ``values`` + ``sql_with_params``), so the WHERE
    clause is the same one the rest of the code uses. It is wrapped in a sub-select with ``WHERE
    true`` because SQLite cannot parse ``INSERT … SELECT … ON CONFLICT`` without a WHERE of its own.
    """
    aliases = {f"_c{i}": expr for i, expr in enumerate(columns.values())}
    select = queryset.order_by().annotate(**aliases).values(*aliases)
    sql, params = select.query.sql_with_params()
    db_columns = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    statement = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({db_columns}) "
        f"SELECT * FROM ({sql}) AS matched WHERE true {on_conflict}"
        + (f" RETURNING {returning}" if returning else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return [row[0] for row in cursor.fetchall()] if returning else []


def attach_matching_tickets(incident: Incident, *, scope: Scope) -> list[int]:
    """Link every open ticket ``scope`` covers to ``incident``; returns the newly linked ticket ids.

    Call inside the transaction that wrote the incident and its scope, with the exclusive matching
    lock already taken (``lock_for_declaration``). Existing rows — attached, detached by a person,
    linked by hand — are left as they are (``ON CONFLICT DO NOTHING``). Writes no per-ticket
    timeline entries (see "Timeline" above).
    """
    now = timezone.now()
    service_guessed = Q(service_source=Ticket.Source.TEXT)
    return _insert_select(
        IncidentTicketLink,
        {
            "incident": Value(incident.pk),
            "ticket": F("id"),
            "score": Case(
                When(service_guessed, then=Value(scope.score(service_guessed=True))),
                default=Value(scope.score(service_guessed=False)),
                output_field=models.FloatField(),
            ),
            "reasons": Case(
                When(service_guessed, then=_json(scope.reasons(service_guessed=True))),
                default=_json(scope.reasons(service_guessed=False)),
                output_field=models.JSONField(),
            ),
            "origin": Value(IncidentTicketLink.Origin.AUTO),
            "created_at": Value(now, output_field=models.DateTimeField()),
            "detach_reason": Value(""),
        },
        scope.open_tickets(),
        on_conflict="ON CONFLICT (incident_id, ticket_id) DO NOTHING",
        returning="ticket_id",
    )


def reattach_system_detached(incident: Incident, *, scope: Scope) -> list[int]:
    """Re-attach auto links that matching itself detached (scope narrowed, ticket changed) and that
    match again. Links a *person* detached (``detached_by`` set) are never touched."""
    qs = IncidentTicketLink.objects.filter(
        incident=incident,
        origin=IncidentTicketLink.Origin.AUTO,
        detached_at__isnull=False,
        detached_by__isnull=True,
        ticket__in=scope.open_tickets().values("id"),
    )
    ticket_ids = list(qs.values_list("ticket_id", flat=True))
    if ticket_ids:
        IncidentTicketLink.objects.filter(incident=incident, ticket_id__in=ticket_ids).update(
            detached_at=None, detach_reason=""
        )
    return ticket_ids


def detach_no_longer_covered(incident: Incident, *, scope: Scope) -> int:
    """After a scope narrowed: detach (set-based) the attached auto links whose ticket is outside it.

    Compared on the scope's dimensions only — a ticket that has since been resolved, or is older
    than the time window, keeps its link. Links made by a person stay. Returns how many.
    """
    now = timezone.now()
    qs = IncidentTicketLink.objects.filter(
        incident=incident, origin=IncidentTicketLink.Origin.AUTO, detached_at__isnull=True
    ).exclude(ticket__in=Ticket.objects.filter(scope.dimensions_q()).values("id"))
    count = qs.update(detached_at=now, detach_reason=REASON_SCOPE_NARROWED)
    return count


# --- the ticket side --------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketMatch:
    linked: list[Incident]
    detached: list[int]


def covering_q(*, service_id: int | None, area: Area | None, equipment_id: int | None) -> Q:
    """Incidents whose service/area/equipment scope covers these values (time and keywords aside)."""
    services = Incident.services.through.objects.filter(incident_id=models.OuterRef("pk"))
    areas = Incident.areas.through.objects.filter(incident_id=models.OuterRef("pk"))
    equipment = Incident.equipment.through.objects.filter(incident_id=models.OuterRef("pk"))
    # A listed area covers the ticket when it is the ticket's area or one of its ancestors.
    path = area.path if area is not None else ""
    ancestor_paths = [path[: i + 1] for i, ch in enumerate(path) if ch == "/"]
    return (
        (~models.Exists(services) | models.Exists(services.filter(service_id=service_id)))
        & (~models.Exists(areas) | models.Exists(areas.filter(area__path__in=ancestor_paths)))
        & (~models.Exists(equipment) | models.Exists(equipment.filter(equipmentmodel_id=equipment_id)))
    )


# The ticket side runs on every ticket opened, so its two statements are written out once as SQL
# (compiling the equivalent ORM expression costs more than running it). Plain SQL that PostgreSQL
# and SQLite both accept; each EXISTS is an index probe on a through table's (incident, x) index.
_CANDIDATES_SQL = """
SELECT i.id, i.title, i.kind, i.started_at, i.keywords, i.updated_at
FROM incidents_incident i
WHERE i.status <> 'resolved'
  AND (i.kind = 'known-issue' OR i.started_at <= %s)
  AND (NOT EXISTS (SELECT 1 FROM incidents_incident_services s WHERE s.incident_id = i.id)
       OR EXISTS (SELECT 1 FROM incidents_incident_services s
                  WHERE s.incident_id = i.id AND s.service_id = %s))
  AND (NOT EXISTS (SELECT 1 FROM incidents_incident_areas a WHERE a.incident_id = i.id)
       OR EXISTS (SELECT 1 FROM incidents_incident_areas a JOIN customers_area ar ON ar.id = a.area_id
                  WHERE a.incident_id = i.id AND ar.path IN ({paths})))
  AND (NOT EXISTS (SELECT 1 FROM incidents_incident_equipment e WHERE e.incident_id = i.id)
       OR EXISTS (SELECT 1 FROM incidents_incident_equipment e
                  WHERE e.incident_id = i.id AND e.equipmentmodel_id = %s))
"""

_SCOPES_SQL = """
SELECT s.incident_id, 'service', x.id, x.code, '' FROM incidents_incident_services s
    JOIN customers_service x ON x.id = s.service_id WHERE s.incident_id IN ({ids})
UNION ALL
SELECT a.incident_id, 'area', x.id, x.code, x.path FROM incidents_incident_areas a
    JOIN customers_area x ON x.id = a.area_id WHERE a.incident_id IN ({ids})
UNION ALL
SELECT e.incident_id, 'equipment', x.id, x.code, '' FROM incidents_incident_equipment e
    JOIN customers_equipmentmodel x ON x.id = e.equipmentmodel_id WHERE e.incident_id IN ({ids})
"""


def candidate_incidents(ticket: Ticket) -> list[Incident]:
    """Active incidents whose service/area/equipment/time scope covers ``ticket`` (keywords aside)."""
    # A listed area covers the ticket when it is the ticket's area or one of its ancestors.
    path = ticket.area.path if ticket.area_id else ""
    paths = [path[: i + 1] for i, ch in enumerate(path) if ch == "/"] or [""]
    sql = _CANDIDATES_SQL.format(paths=", ".join(["%s"] * len(paths)))
    params = [ticket.created_at + settings.INCIDENT_LOOKBACK, ticket.service_id, *paths, ticket.equipment_id]
    return list(Incident.objects.raw(sql, params))


# Scopes by (incident id, updated_at): services bump ``updated_at`` on every scope change, so a
# ticket matched against a busy incident does not re-read its scope (one query fewer per ticket).
# Only the *reasons* text comes from here; which incidents match is always decided by SQL.
_scope_cache: dict[tuple[int, object], Scope] = {}
_SCOPE_CACHE_SIZE = 2000


def scopes_of(incidents: Sequence[Incident]) -> dict[int, Scope]:
    """The scopes of several incidents, in at most one query."""
    cached = {i.pk: _scope_cache.get((i.pk, i.updated_at)) for i in incidents}
    missing = [i for i in incidents if cached[i.pk] is None]
    if missing:
        if len(_scope_cache) > _SCOPE_CACHE_SIZE:
            _scope_cache.clear()
        for pk, scope in _read_scopes(missing).items():
            cached[pk] = scope
    return cached


def _read_scopes(incidents: Sequence[Incident]) -> dict[int, Scope]:
    ids = [i.pk for i in incidents]
    rows: dict[int, dict[str, list]] = {pk: {"service": [], "area": [], "equipment": []} for pk in ids}
    with connection.cursor() as cursor:
        cursor.execute(_SCOPES_SQL.format(ids=", ".join(["%s"] * len(ids))), ids * 3)
        for incident_id, dimension, pk, code, path in cursor.fetchall():
            rows[incident_id][dimension].append((pk, code, path))
    scopes = {}
    for incident in incidents:
        r = rows[incident.pk]
        scopes[incident.pk] = Scope(
            service_ids=tuple(x[0] for x in r["service"]),
            service_codes=tuple(x[1] for x in r["service"]),
            area_ids=tuple(x[0] for x in r["area"]),
            area_paths=tuple(x[2] for x in r["area"]),
            area_codes=tuple(x[1] for x in r["area"]),
            equipment_ids=tuple(x[0] for x in r["equipment"]),
            equipment_codes=tuple(x[1] for x in r["equipment"]),
            keywords=tuple(normalise_keywords(incident.keywords)),
            since=None
            if incident.kind == Incident.Kind.KNOWN_ISSUE
            else incident.started_at - settings.INCIDENT_LOOKBACK,
        )
        _scope_cache[(incident.pk, incident.updated_at)] = scopes[incident.pk]
    return scopes


def match_ticket(ticket: Ticket, *, created: bool) -> TicketMatch:
    """Link ``ticket`` to every active incident that covers it; call inside the ticket's transaction.

    Re-running is harmless: existing rows are never overwritten, so a person's detach is remembered.
    For a changed (not new) open ticket, auto links to active incidents that no longer cover it are
    detached by the system, and ones the system detached earlier come back when it matches again.
    A resolved or closed ticket keeps its links and links nothing new.
    """
    if not ticket.is_open:
        return TicketMatch([], [])
    lock_for_ticket()
    now = timezone.now()
    matched = [
        incident
        for incident in candidate_incidents(ticket)
        if keywords_match(incident.keywords or (), ticket.subject, ticket.description)
    ]
    detached: list[int] = []
    existing: set[int] = set()
    if not created:
        links = IncidentTicketLink.objects.filter(ticket=ticket, incident__in=Incident.objects.active())
        matched_ids = {i.pk for i in matched}
        existing = set(links.filter(incident_id__in=matched_ids).values_list("incident_id", flat=True))
        # Auto links the system detached and that match again come back; a person's detach stays.
        links.filter(
            incident_id__in=matched_ids,
            origin=IncidentTicketLink.Origin.AUTO,
            detached_at__isnull=False,
            detached_by__isnull=True,
        ).update(detached_at=None, detach_reason="")
        stale = links.filter(origin=IncidentTicketLink.Origin.AUTO, detached_at__isnull=True).exclude(
            incident_id__in=matched_ids
        )
        detached = list(stale.values_list("incident_id", flat=True))
        if detached:
            stale.update(detached_at=now, detach_reason=REASON_TICKET_CHANGED)
    new = [i for i in matched if i.pk not in existing]
    if new:
        guessed = ticket.service_source == Ticket.Source.TEXT
        scopes = scopes_of(new)
        IncidentTicketLink.objects.bulk_create(
            [
                IncidentTicketLink(
                    incident=i,
                    ticket=ticket,
                    score=scopes[i.pk].score(service_guessed=guessed),
                    reasons=scopes[i.pk].reasons(service_guessed=guessed),
                    origin=IncidentTicketLink.Origin.AUTO,
                    created_at=now,
                )
                for i in new
            ],
            ignore_conflicts=True,
        )
    return TicketMatch(new, detached)
