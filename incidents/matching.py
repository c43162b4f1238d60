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
    materialised path, ``se/se-ab/se-ab-0180/``, so "in the subtree" is a path prefix test,
    ``Area.within``, and its mirror image is ``Area.ancestor_paths``: the areas whose subtree holds
    an area are those whose path is one of its path's prefixes);
  - **equipment**: the ticket's equipment model is one of those listed;
  - **keywords** (optional): any keyword occurs, case-insensitively, in the subject or description.

The ticket's service, area and equipment are its *effective* values (given, else from the
subscription, else — service only — guessed from the text by ``tickets.lexicon``). A link whose
service was guessed from the text gets a lower score and says so in its reasons.

A ticket that becomes resolved or closed keeps its links (they are its history). Subscriptions are
matched on service/area/equipment only (keywords are about what a customer wrote).

One rule, both ways
-------------------
The rule above is written once, in the "scope rule" section of this module, one piece per part:
``DIMENSIONS`` (service, area, equipment: each knows the incident's M2M, the ticket's and
subscription's FK, and whether it is a tree), ``window_start``/``window_q`` (time),
``keywords_q``/``keywords_match`` (keywords), ``Ticket.OPEN_STATUSES`` and
``Incident.objects.active()`` (status). Each part renders itself in the two directions, side by
side, and everything else is built from them:

* **scope → subjects** (``Scope.covers_q``, on tickets or subscriptions, which have the same FK
  names): ``Scope.open_tickets`` (declaration, scope change, preview) and ``Scope.subscriptions``
  (affected customers);
* **subject → scopes** (``covering_q``, on incidents, for a ticket or a subscription):
  ``candidate_incidents`` (a ticket opened or changed) and the caller look-up
  (``incidents.selectors.active_incidents_for_customer``).

tests/incidents/test_matching_directions.py checks, on one set of fixtures, that both directions
link the same tickets with the same reasons.

* **Declaration side** (``attach_matching_tickets``): one ``INSERT … SELECT … ON CONFLICT DO
  NOTHING`` writes every link; the SELECT is built with the ORM so it runs on PostgreSQL and SQLite.
  A detached link stays as a row, so the ``ON CONFLICT`` never re-attaches a ticket a person detached.
* **Ticket side** (``match_ticket``): called from the ``tickets.signals.ticket_changed`` receiver
  inside the transaction that wrote the ticket: one candidate query over the active incidents
  (service/area/equipment/time in SQL, keywords in Python, ``keywords_match``), and for a match one
  read of the scopes (for the reasons; cached) and one bulk insert. The candidate query is the
  ORM's rendering of ``candidates_q``, compiled once per shape with placeholder values and re-run
  with each ticket's (``_candidates_template``): compiling it per ticket costs more than running
  it (bench/README.md, "Matching"). ``candidate_incidents_orm`` is the same query compiled each
  time; the tests hold the two to the same answers.
* **Scope edits** by any route bump ``Incident.updated_at`` (the services write it; an M2M change
  anywhere, the admin included, goes through ``incidents.receivers.scope_edited``). The reasons of
  a ticket-side link come from a process-wide cache of scopes keyed on the candidate row's
  ``(id, updated_at, kind, started_at, keywords)``, so a stale scope is never used.
  An admin's scope edit also re-links, through ``incident_change_scope``, like any other.
  (A raw ``QuerySet.update()`` of the through tables would bypass this: don't.)

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
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone
from functools import cache

from django.conf import settings
from django.db import connection, models
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_noop

from customers.models import Area, EquipmentModel, Service, Subscription
from incidents import sla
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


# === The scope rule ===========================================================================
# Everything "covers" means is defined in this section, once per part of the rule, each part with
# its two renderings side by side: scope → subjects (which tickets/subscriptions a scope covers:
# declaration, scope change, preview) and subject → scopes (which incidents cover one ticket or
# subscription: ticket opened or changed, caller look-up).


@dataclass(frozen=True)
class Dimension:
    """One scope dimension. ``key`` is the FK on Ticket and Subscription (and the reasons key);
    ``field`` is the incident's M2M (and the ``Scope`` attribute). ``tree``: a listed area covers
    its subtree (``Area.within`` one way, ``Area.ancestor_paths`` the other); otherwise a listed
    value covers exactly itself."""

    key: str
    field: str
    tree: bool = False

    @property
    def through(self) -> type[models.Model]:
        return Incident._meta.get_field(self.field).remote_field.through

    @property
    def through_fk(self) -> str:
        """The through table's FK to the listed model ("service", "area", "equipmentmodel")."""
        return Incident._meta.get_field(self.field).m2m_reverse_field_name()

    def subjects_q(self, listed: Sequence[Listed]) -> Q:
        """Scope → subjects: tickets/subscriptions whose value one of ``listed`` covers."""
        if self.tree:
            # A subquery, so PostgreSQL can use the ticket (area, created_at) index with the ids.
            return Q(**{f"{self.key}_id__in": Area.within(x.path for x in listed).values("id")})
        return Q(**{f"{self.key}_id__in": [x.pk for x in listed]})

    def covering(self, subject) -> list:
        """Subject → scopes: the listed values (as the through lookup ``covering_lookup`` reads
        them) that cover ``subject``'s value. Empty when the subject has no value."""
        if self.tree:
            area = getattr(subject, self.key)
            return area.ancestor_paths() if area is not None else []
        value = getattr(subject, f"{self.key}_id")
        return [value] if value is not None else []

    @property
    def covering_lookup(self) -> str:
        return f"{self.through_fk}__path__in" if self.tree else f"{self.through_fk}_id__in"

    def incidents_q(self, covering: list) -> Q:
        """Subject → scopes: incidents that list nothing in this dimension, or list a covering value."""
        listed = self.through.objects.filter(incident_id=OuterRef("pk"))
        return ~Exists(listed) | Exists(listed.filter(**{self.covering_lookup: covering}))


DIMENSIONS = (
    Dimension("service", "services"),
    Dimension("area", "areas", tree=True),
    Dimension("equipment", "equipment"),
)


def window_start(*, kind: str, started_at: datetime) -> datetime | None:
    """Time, scope → tickets: tickets opened at or after this are covered; None: no window."""
    return None if kind == Incident.Kind.KNOWN_ISSUE else started_at - settings.INCIDENT_LOOKBACK


def window_q(*, opened_at: datetime) -> Q:
    """Time, ticket → scopes: incidents whose window (``window_start``) includes ``opened_at``."""
    return Q(kind=Incident.Kind.KNOWN_ISSUE) | Q(started_at__lte=opened_at + settings.INCIDENT_LOOKBACK)


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


def keywords_q(keywords: Sequence[str]) -> Q:
    """Keywords, scope → tickets: any keyword in the subject or description, case-insensitively.

    PostgreSQL: ``icontains`` (``UPPER(…) LIKE UPPER(…)``, Unicode-aware). SQLite's ``LIKE`` folds
    ASCII letters only ("SÄHKÖ" would miss "sähkö"), so there the same test is an escaped ``iregex``,
    which Django's SQLite backend runs with Python's ``re``: exactly ``keywords_match``.
    """
    if connection.vendor == "postgresql":
        lookup, literal = "icontains", str
    else:
        lookup, literal = "iregex", re.escape
    q = Q()
    for k in keywords:
        q |= Q(**{f"subject__{lookup}": literal(k)}) | Q(**{f"description__{lookup}": literal(k)})
    return q


def keywords_match(keywords: Sequence[str], subject: str, description: str) -> bool:
    """Keywords, ticket → scopes (in Python, per candidate): the same test as ``keywords_q``."""
    text = f"{subject}\n{description}"
    return not keywords or any(re.search(re.escape(k), text, re.IGNORECASE) for k in keywords)


def covering_q(subject) -> Q:
    """Subject → scopes: incidents whose service/area/equipment scope covers ``subject`` (a ticket
    or a subscription; time, status and keywords aside). Needs ``subject.area`` (one query unless
    loaded)."""
    # A held incident (``needs_scope``) covers nobody: its empty dimensions would cover everyone.
    q = Q(needs_scope=False)
    for d in DIMENSIONS:
        q &= d.incidents_q(d.covering(subject))
    return q


@dataclass(frozen=True, order=True)
class Listed:
    """One value a scope lists: a service, area or equipment model (``path`` for areas only)."""

    code: str
    pk: int
    path: str = ""

    @classmethod
    def of(cls, objects: Iterable[models.Model]) -> tuple[Listed, ...]:
        # Sorted by code: reasons list the values in the same order whichever side wrote the link.
        return tuple(sorted(cls(o.code, o.pk, getattr(o, "path", "")) for o in objects))


@dataclass(frozen=True)
class Scope:
    """What an incident covers: the listed values per dimension (attributes named as the incident's
    M2M fields), keywords and the time window."""

    services: tuple[Listed, ...] = ()
    areas: tuple[Listed, ...] = ()
    equipment: tuple[Listed, ...] = ()
    keywords: tuple[str, ...] = ()
    # Tickets opened at or after this are covered; None: no time window (known issues).
    since: datetime | None = None
    # Held: the incident needs a scope from ops (``Incident.needs_scope``); it covers nothing until
    # then, because its dimensions may be empty and an empty dimension means "everything".
    held: bool = False

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
        held: bool = False,
    ) -> Scope:
        return cls(
            services=Listed.of(services),
            areas=Listed.of(areas),
            equipment=Listed.of(equipment),
            keywords=tuple(normalise_keywords(keywords)),
            since=window_start(kind=kind, started_at=started_at),
            held=held,
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
            held=incident.needs_scope,
        )

    # --- scope → subjects -----------------------------------------------------------------------

    def covers_q(self, *, with_keywords: bool = True) -> Q:
        """Service/area/equipment (and keywords) as a filter on tickets or subscriptions (the same
        FK names); an empty dimension adds nothing."""
        q = Q()
        for d in DIMENSIONS:
            if listed := getattr(self, d.field):
                q &= d.subjects_q(listed)
        if with_keywords and self.keywords:
            q &= keywords_q(self.keywords)
        return q

    def open_tickets(self) -> models.QuerySet[Ticket]:
        """The open tickets this scope covers now."""
        if self.held:  # matches nothing, yet compiles to SQL (set-based callers embed it)
            return Ticket.objects.filter(pk__isnull=True)
        qs = Ticket.objects.open().filter(self.covers_q())
        if self.since is not None:
            qs = qs.filter(created_at__gte=self.since)
        return qs

    def subscriptions(self) -> models.QuerySet[Subscription]:
        """Active subscriptions in scope (keywords do not apply to subscriptions)."""
        if self.held:  # matches nothing, yet compiles to SQL (set-based callers embed it)
            return Subscription.objects.filter(pk__isnull=True)
        return Subscription.objects.filter(active=True).filter(self.covers_q(with_keywords=False))

    # --- reasons --------------------------------------------------------------------------------

    def reasons(self, *, service_guessed: bool) -> dict:
        """Which dimensions matched and with which values; the same for every ticket of the incident
        (so the set-based insert can carry it as a constant)."""
        reasons: dict = {}
        for d in DIMENSIONS:
            if listed := getattr(self, d.field):
                reasons[d.key] = [x.code for x in listed]
        if self.keywords:
            reasons["keywords"] = list(self.keywords)
        reasons["time"] = {"since": self.since.isoformat()} if self.since else "known-issue"
        if service_guessed and self.services:
            reasons["note"] = REASON_SERVICE_GUESSED
        return reasons

    def score(self, *, service_guessed: bool) -> float:
        return SCORE_SERVICE_GUESSED if service_guessed and self.services else SCORE_CERTAIN


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


# Shared with incidents.services: a person's bulk link writes its rows the same way.
insert_select = _insert_select
json_value = _json


def attach_matching_tickets(incident: Incident, *, scope: Scope) -> list[int]:
    """Link every open ticket ``scope`` covers to ``incident``; returns the newly linked ticket ids.

    Call inside the transaction that wrote the incident and its scope, with the exclusive matching
    lock already taken (``lock_for_declaration``). Existing rows — attached, detached by a person,
    linked by hand — are left as they are (``ON CONFLICT DO NOTHING``). Writes no per-ticket
    timeline entries (see "Timeline" above).
    """
    if scope.held:
        return []
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
        # Linked again from now: its ticket's SLA pause starts now (incidents/sla.py).
        IncidentTicketLink.objects.filter(incident=incident, ticket_id__in=ticket_ids).update(
            detached_at=None, detach_reason="", created_at=timezone.now()
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
    ).exclude(ticket__in=Ticket.objects.filter(scope.covers_q()).values("id"))
    sla.resume(ending=qs, at=now)
    count = qs.update(detached_at=now, detach_reason=REASON_SCOPE_NARROWED)
    return count


# --- the ticket side --------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketMatch:
    linked: list[Incident]
    detached: list[int]


# What the candidate query reads of an incident (the rest is deferred).
_CANDIDATE_FIELDS = ("id", "title", "kind", "started_at", "keywords", "updated_at")


def candidates_q(ticket: Ticket) -> Q:
    """Subject → scopes for one ticket: service/area/equipment and time (keywords aside)."""
    return window_q(opened_at=ticket.created_at) & covering_q(ticket)


def candidate_incidents_orm(ticket: Ticket) -> list[Incident]:
    """``candidate_incidents`` compiled by the ORM on every call (the bench's and tests' yardstick)."""
    return list(Incident.objects.active().filter(candidates_q(ticket)).only(*_CANDIDATE_FIELDS).order_by())


class _Sentinel:
    """A stand-in subject whose values are placeholders: the candidate query is compiled with them
    once per shape (how many covering values each dimension has), and each ticket's values are put
    in their places. So the SQL is the ORM's own rendering of ``candidates_q`` (tables, columns and
    literals from the models) without compiling it per ticket, which costs more than running it
    (bench/README.md, "Matching")."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        n = dict(zip((d.key for d in DIMENSIONS), shape, strict=True))
        self.service_id = -0x5D_0001
        self.equipment_id = -0x5D_0002
        # n ancestors: a path of n distinct segments, each prefix a placeholder of its own.
        self.area = Area(path="".join(f"~sentinel{i}~/" for i in range(n["area"])))
        # The template's time bound (``window_q`` adds the look-back; the slot takes the sum).
        self.bound = datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=dt_timezone.utc)
        self.created_at = self.bound - settings.INCIDENT_LOOKBACK


def _prepare_datetime(value: datetime):
    # What compiling does to a datetime parameter (PostgreSQL: itself; SQLite: naive UTC text).
    return connection.ops.adapt_datetimefield_value(value)


@cache
def _candidates_template(vendor: str, shape: tuple[int, ...]) -> tuple[str, list, tuple]:
    """(sql, params with the placeholders' values, ((index, name), …) where a ticket's value goes)."""
    sentinel = _Sentinel(shape)
    qs = Incident.objects.active().filter(candidates_q(sentinel)).only(*_CANDIDATE_FIELDS).order_by()
    sql, params = qs.query.sql_with_params()
    wanted = {_prepare_datetime(sentinel.bound): "bound"}
    for d in DIMENSIONS:
        wanted.update({value: (d.key, i) for i, value in enumerate(d.covering(sentinel))})
    slots = tuple(
        (index, wanted[p])
        for index, p in enumerate(params)
        if isinstance(p, str | int | datetime) and p in wanted
    )
    if sorted(str(name) for _, name in slots) != sorted(str(name) for name in wanted.values()):
        # Each placeholder exactly once, or the ORM rendered the query in a way this cannot fill.
        raise RuntimeError(f"candidate query template: placed {slots} of {list(wanted.values())} in {sql}")
    return sql, list(params), slots


def candidate_incidents(ticket: Ticket) -> list[Incident]:
    """Active incidents whose service/area/equipment/time scope covers ``ticket`` (keywords aside):
    the query ``candidate_incidents_orm`` runs, compiled once per shape and re-used."""
    # A dimension without a value gets one NULL: ``IN (NULL)`` is never true, as ``IN ()`` would be.
    covering = [d.covering(ticket) or [None] for d in DIMENSIONS]
    sql, params, slots = _candidates_template(connection.vendor, tuple(map(len, covering)))
    values = {(d.key, i): v for d, c in zip(DIMENSIONS, covering, strict=True) for i, v in enumerate(c)}
    # INCIDENT_LOOKBACK is read per call (tests change it): the template holds no time of its own.
    values["bound"] = _prepare_datetime(ticket.created_at + settings.INCIDENT_LOOKBACK)
    params = params.copy()
    for index, name in slots:
        params[index] = values[name]
    return list(Incident.objects.raw(sql, params))


# Scopes by the candidate row: (id, updated_at, kind, started_at, keywords). A scope edit anywhere
# bumps ``updated_at`` (the services do; ``incidents.receivers.scope_edited`` does it for any M2M
# change, admin included), and the row's own scope fields are part of the key, so a ticket matched
# against a busy incident does not re-read its scope (one query fewer per ticket) and never gets
# stale reasons. Only the *reasons* text comes from here; which incidents match is decided by SQL.
_scope_cache: dict[tuple, Scope] = {}
_SCOPE_CACHE_SIZE = 2000


def _cache_key(incident: Incident) -> tuple:
    return (
        incident.pk,
        incident.updated_at,
        incident.kind,
        incident.started_at,
        tuple(incident.keywords or ()),
    )


def scopes_of(incidents: Sequence[Incident]) -> dict[int, Scope]:
    """The scopes of several incidents (candidate rows), in at most one query."""
    scopes = {i.pk: _scope_cache.get(_cache_key(i)) for i in incidents}
    missing = [i for i in incidents if scopes[i.pk] is None]
    if missing:
        if len(_scope_cache) > _SCOPE_CACHE_SIZE:
            _scope_cache.clear()
        listed = _read_listed([i.pk for i in missing])
        for i in missing:
            scopes[i.pk] = _scope_cache[_cache_key(i)] = Scope(
                **listed[i.pk],
                keywords=tuple(normalise_keywords(i.keywords)),
                since=window_start(kind=i.kind, started_at=i.started_at),
            )
    return scopes


def _read_listed(ids: list[int]) -> dict[int, dict[str, tuple[Listed, ...]]]:
    """Every dimension's listed values of these incidents, in one query (a UNION ALL)."""
    parts = [
        d.through.objects.filter(incident_id__in=ids)
        .annotate(
            _incident=F("incident_id"),
            _field=Value(d.field),
            _pk=F(f"{d.through_fk}_id"),
            _code=F(f"{d.through_fk}__code"),
            _path=F(f"{d.through_fk}__path") if d.tree else Value(""),
        )
        .values_list("_incident", "_field", "_pk", "_code", "_path")
        .order_by()
        for d in DIMENSIONS
    ]
    rows: dict[int, dict[str, list[Listed]]] = {pk: {d.field: [] for d in DIMENSIONS} for pk in ids}
    for incident_id, field, pk, code, path in parts[0].union(*parts[1:], all=True):
        rows[incident_id][field].append(Listed(code, pk, path))
    return {pk: {f: tuple(sorted(values)) for f, values in r.items()} for pk, r in rows.items()}


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
        ).update(detached_at=None, detach_reason="", created_at=now)  # linked again from now
        stale = links.filter(origin=IncidentTicketLink.Origin.AUTO, detached_at__isnull=True).exclude(
            incident_id__in=matched_ids
        )
        detached = list(stale.values_list("incident_id", flat=True))
        if detached:
            sla.resume(ending=stale, at=now)
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
