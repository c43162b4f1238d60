"""The public status page's reads: what is wrong where a person lives, what is planned there, and how
each service did there over the last days (uptime bars). Set-based, a fixed number of queries.

"Where a person lives" is an area. An incident *touches* it when its area scope is empty (everywhere),
lists the area or one above it (an outage in Stockholm municipality touches every postcode in it), or
lists an area below it (an outage on one postcode shows on its municipality's page). Held monitoring
alerts (``needs_scope``) and withdrawn incidents are never shown.

Uptime bars: one bar per day in the area's own clock (Europe/Stockholm or Europe/Helsinki). A day is
"outage" when an outage of that service touching the area overlapped it, "degraded" when only a
degradation did; the percentage counts outage time only, with overlapping outages counted once.
Planned maintenance is announced, not counted as downtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from core.languages import TIME_ZONE_FOR_LANGUAGE
from customers.models import Area, Service
from incidents.models import Incident, IncidentUpdate

UPTIME_DAYS = 90
FEED_DAYS = 30

# The clock of a country (the area tree's root code).
ZONE_FOR_COUNTRY = {"fi": "Europe/Helsinki", "se": "Europe/Stockholm"}


def zone_for(area: Area | None, language: str | None = None) -> ZoneInfo:
    """The area's country's clock; without an area, the one the viewer's language suggests."""
    if area is not None and area.country_code in ZONE_FOR_COUNTRY:
        return ZoneInfo(ZONE_FOR_COUNTRY[area.country_code])
    return ZoneInfo(TIME_ZONE_FOR_LANGUAGE.get((language or "")[:2], settings.TIME_ZONE))


def touches_area_q(area: Area) -> Q:
    """Incidents whose area scope is empty, or lists ``area``, an area above it or one below it."""
    listed = Incident.areas.through.objects.filter(incident_id=OuterRef("pk"))
    near = Q(area__path__in=area.ancestor_paths()) | Q(area__path__startswith=area.path)
    return ~Exists(listed) | Exists(listed.filter(near))


def touches_service_q(service: Service) -> Q:
    listed = Incident.services.through.objects.filter(incident_id=OuterRef("pk"))
    return ~Exists(listed) | Exists(listed.filter(service_id=service.pk))


def shown_to_public() -> QuerySet[Incident]:
    """Never a held monitoring alert, an incident withdrawn as a mistake, or one only proposed from a
    surge of tickets (ops have not confirmed it)."""
    return Incident.objects.filter(needs_scope=False).exclude(
        status__in=[Incident.Status.WITHDRAWN, Incident.Status.PROPOSED]
    )


def _with_public_updates(qs: QuerySet[Incident]) -> QuerySet[Incident]:
    return qs.prefetch_related(
        Prefetch(
            "updates",
            queryset=IncidentUpdate.objects.filter(public=True).order_by("-created_at", "-id"),
            to_attr="public_updates",
        ),
        "services",
    )


@dataclass
class AreaStatus:
    area: Area
    service: Service | None
    problems: list[Incident]  # active outages, degradations and known issues, most severe first
    maintenance: list[Incident]  # active or planned maintenance, soonest first
    resolved: list[Incident]  # fixed in the last few days
    zone: ZoneInfo


def area_status(area: Area, *, service: Service | None = None, resolved_days: int = 7) -> AreaStatus:
    """What is wrong (and planned, and lately fixed) in ``area``: two queries for the incidents and
    two for their public updates and services."""
    touching = shown_to_public().filter(touches_area_q(area))
    if service is not None:
        touching = touching.filter(touches_service_q(service))
    since = timezone.now() - timedelta(days=resolved_days)
    incidents = list(
        _with_public_updates(
            touching.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since))
        ).order_by("-severity", "started_at", "pk")
    )
    active = [i for i in incidents if i.is_active]
    return AreaStatus(
        area=area,
        service=service,
        problems=[i for i in active if i.kind != Incident.Kind.MAINTENANCE],
        maintenance=sorted(
            (i for i in active if i.kind == Incident.Kind.MAINTENANCE), key=lambda i: i.started_at
        ),
        resolved=sorted(
            (i for i in incidents if i.status == Incident.Status.RESOLVED),
            key=lambda i: i.resolved_at,
            reverse=True,
        ),
        zone=zone_for(area),
    )


# --- uptime bars ---------------------------------------------------------------------------------


@dataclass
class Day:
    day: date
    state: str  # "ok", "degraded", "outage", "future" (before the service was watched: never)
    outage_minutes: int = 0


@dataclass
class ServiceUptime:
    service: Service
    days: list[Day] = field(default_factory=list)
    uptime_percent: float = 100.0

    @property
    def outage_days(self) -> int:
        return sum(1 for d in self.days if d.state == "outage")

    @property
    def degraded_days(self) -> int:
        return sum(1 for d in self.days if d.state == "degraded")


def _merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def uptime_bars(
    area: Area, services: list[Service], *, days: int = UPTIME_DAYS, now: datetime | None = None
) -> list[ServiceUptime]:
    """Per service, one ``Day`` per day for the last ``days`` days (today last) in the area's clock,
    and the share of that time without an outage. Two queries whatever the number of services and
    incidents: the outage and degradation windows touching the area (an open one ends now), and
    their service scopes. The days are filled from the merged windows in Python."""
    now = now or timezone.now()
    zone = zone_for(area)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    windows = list(
        shown_to_public()
        .filter(touches_area_q(area))
        .filter(kind__in=[Incident.Kind.OUTAGE, Incident.Kind.DEGRADATION], started_at__lt=now)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=start))
        .values_list("pk", "kind", "started_at", "resolved_at")
    )
    scoped: dict[int, set[int]] = {}
    for incident_id, service_id in Incident.services.through.objects.filter(
        incident_id__in=[w[0] for w in windows]
    ).values_list("incident_id", "service_id"):
        scoped.setdefault(incident_id, set()).add(service_id)

    day_starts = [
        datetime.combine(first + timedelta(days=n), datetime.min.time(), tzinfo=zone) for n in range(days + 1)
    ]
    period = (now - start).total_seconds()
    result = []
    for service in services:
        spans: dict[str, list[tuple[datetime, datetime]]] = {"outage": [], "degradation": []}
        for pk, kind, started, resolved in windows:
            if pk in scoped and service.pk not in scoped[pk]:
                continue
            spans[kind].append((max(started, start), min(resolved or now, now)))
        outages = _merge(spans["outage"])
        degradations = _merge(spans["degradation"])
        bar = ServiceUptime(service=service)
        for n in range(days):
            lo, hi = day_starts[n], min(day_starts[n + 1], now)
            out = sum(max(0.0, (min(e, hi) - max(s, lo)).total_seconds()) for s, e in outages)
            degraded = any(s < hi and e > lo for s, e in degradations)
            state = "outage" if out > 0 else "degraded" if degraded else "ok"
            bar.days.append(Day(day=first + timedelta(days=n), state=state, outage_minutes=round(out / 60)))
        down = sum((e - s).total_seconds() for s, e in outages)
        bar.uptime_percent = round(100 * (1 - down / period), 2) if period > 0 else 100.0
        result.append(bar)
    return result


# --- the feed --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedEntry:
    """One public thing said about an incident touching an area: its declaration or a public update."""

    guid: str
    area_code: str
    incident: Incident
    text: str
    at: datetime
    status: str


def feed_entries(area: Area, *, language: str, days: int = FEED_DAYS, limit: int = 50) -> list[FeedEntry]:
    """What was told publicly about the incidents touching ``area`` in the last ``days``, newest first:
    each incident's declaration (its public message) and its public updates. Two queries."""
    since = timezone.now() - timedelta(days=days)
    incidents = list(
        shown_to_public()
        .filter(touches_area_q(area))
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since))
        .prefetch_related(
            Prefetch(
                "updates",
                queryset=IncidentUpdate.objects.filter(public=True, created_at__gte=since).order_by(
                    "-created_at"
                ),
                to_attr="public_updates",
            )
        )
        .order_by("-started_at")[:limit]
    )
    entries = []
    for incident in incidents:
        if incident.created_at >= since:
            entries.append(
                FeedEntry(
                    guid=f"incident-{incident.pk}",
                    area_code=area.code,
                    incident=incident,
                    text=incident.public_message_in(language),
                    at=incident.created_at,
                    status=Incident.Status.INVESTIGATING,
                )
            )
        for update in incident.public_updates:
            entries.append(
                FeedEntry(
                    guid=f"incident-{incident.pk}-update-{update.pk}",
                    area_code=area.code,
                    incident=incident,
                    text=update.message_in(language),
                    at=update.created_at,
                    status=update.status,
                )
            )
    return sorted(entries, key=lambda e: e.at, reverse=True)[:limit]
