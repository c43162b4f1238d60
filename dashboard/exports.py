"""CSV exports, streamed: rows are read in chunks and written as they are read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q
from django.http import QueryDict
from django.utils import timezone

from customers.models import Area, Service
from incidents.models import Incident

CHUNK = 2000
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Echo:
    """A file-like object whose write returns the line, so csv.writer feeds a generator."""

    def write(self, value: str) -> str:
        return value


def cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return timezone.localtime(value).isoformat(timespec="seconds")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@dataclass(frozen=True)
class IncidentFilters:
    """The incident list's filters: ``status`` (active, resolved or one status), ``kind``."""

    status: str = ""
    kind: str = ""

    @classmethod
    def from_query(cls, query: QueryDict) -> IncidentFilters:
        status = query.get("status", "")
        kind = query.get("kind", "")
        # Unknown values filter nothing rather than fail: an export link should always download.
        statuses = {"active", "resolved", *Incident.Status.values}
        return cls(
            status=status if status in statuses else "", kind=kind if kind in Incident.Kind.values else ""
        )

    def apply(self, qs):
        if self.status == "active":
            qs = qs.active()
        elif self.status:
            qs = qs.filter(status=self.status)
        if self.kind:
            qs = qs.filter(kind=self.kind)
        return qs


HEADER = [
    "id", "title", "kind", "severity", "status", "source", "started_at", "detected_at", "eta",
    "resolved_at", "services", "areas", "linked_tickets",
]  # fmt: skip


def incident_rows(filters: IncidentFilters) -> Iterator[list[str]]:
    """The header, then one row per incident, newest first; three queries per CHUNK incidents."""
    yield HEADER
    qs = (
        filters.apply(Incident.objects.all())
        .annotate(linked=Count("links", filter=Q(links__detached_at__isnull=True)))
        .prefetch_related(
            Prefetch("services", queryset=Service.objects.only("id", "code")),
            Prefetch("areas", queryset=Area.objects.only("id", "code")),
        )
        .order_by("-started_at", "-id")
    )
    for i in qs.iterator(chunk_size=CHUNK):
        yield [
            cell(v)
            for v in (
                i.pk, i.title, i.kind, Incident.Severity(i.severity).name.lower(), i.status, i.source, i.started_at,
                i.detected_at, i.eta, i.resolved_at,
                " ".join(s.code for s in i.services.all()),
                " ".join(a.code for a in i.areas.all()),
                i.linked,
            )
        ]  # fmt: skip
