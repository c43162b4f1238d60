"""CSV exports, streamed: rows are read in chunks and written as they are read.

Constant memory under both servers: ``csv_response`` hands Django a synchronous iterator under WSGI
(and the test client) and an asynchronous one under ASGI (daphne), which pulls one chunk of rows at a
time through ``sync_to_async``. Given a synchronous iterator under ASGI, Django would read it whole
into a list before sending a byte.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, QueryDict, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from customers.models import Area, Service
from dashboard.selectors import DEFAULT_RANGE, RANGES, Window, window_for
from incidents.models import Incident
from tickets.models import REFERENCE_PREFIX, Ticket

CHUNK = 2000
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


# --- streaming ------------------------------------------------------------------------------------


def csv_chunks(rows: Iterable[list], rows_per_chunk: int = 500) -> Iterator[str]:
    """CSV text, ``rows_per_chunk`` rows at a time (one write per chunk rather than per row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
        if n == rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            n = 0
    if n:
        yield buffer.getvalue()


async def _pulled(chunks: Iterator[str]) -> AsyncIterator[str]:
    """The chunks, each read in Django's sync thread (the database connection lives there)."""
    done = object()
    pull = sync_to_async(lambda: next(chunks, done), thread_sensitive=True)
    while (chunk := await pull()) is not done:
        yield chunk


def csv_response(request: HttpRequest, rows: Iterable[list], filename: str) -> StreamingHttpResponse:
    chunks = csv_chunks(rows)
    content = _pulled(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response


# --- tickets ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFilters:
    """The dashboard's filters: ``range`` (today, 7d, 30d: tickets opened in it), ``service`` (a
    service code), ``region`` (an area code: that area's subtree), ``open`` (1: open tickets only)."""

    window: Window
    service: Service | None = None
    area: Area | None = None
    open_only: bool = False

    @classmethod
    def from_query(cls, query: QueryDict) -> TicketFilters:
        """Unknown service or area codes are refused (``DomainError``): an export that silently
        dropped a filter would hand out more customers' data than was asked for."""
        key = query.get("range", DEFAULT_RANGE)
        service = area = None
        if code := query.get("service", ""):
            service = Service.objects.filter(code=code).first()
            if service is None:
                raise DomainError(_("Unknown service: %(code)s") % {"code": code}, field="service")
        if code := query.get("region", ""):
            area = Area.objects.filter(code=code).first()
            if area is None:
                raise DomainError(_("Unknown area: %(code)s") % {"code": code}, field="region")
        return cls(
            window=window_for(key if key in RANGES else DEFAULT_RANGE),
            service=service,
            area=area,
            open_only=query.get("open", "") in ("1", "true"),
        )

    def apply(self, qs):
        qs = qs.filter(created_at__gte=self.window.start, created_at__lte=self.window.end)
        if self.service is not None:
            qs = qs.filter(service=self.service)
        if self.area is not None:
            qs = qs.filter(area__path__startswith=self.area.path)
        if self.open_only:
            qs = qs.open()
        return qs


TICKET_HEADER = [
    "reference", "opened", "status", "category", "channel", "queue", "priority", "service", "region",
    "area", "customer", "subject", "assignee", "sla_due", "resolved",
]  # fmt: skip


def _region_code(path: str) -> str:
    """The depth-1 area's code from a materialised path (``se/se-ab/se-ab-0180/`` → ``se-ab``)."""
    parts = path.split("/")
    return parts[1] if len(parts) > 2 else ""


def ticket_rows(filters: TicketFilters, chunk: int = CHUNK) -> Iterator[list[str]]:
    """The header, then one row per ticket, newest first. Keyset pages of ``chunk`` tickets, one
    query each (joins for service, area, customer, assignee): memory stays constant whatever the
    range, no server-side cursor is held between chunks, and it runs on SQLite too."""
    yield TICKET_HEADER
    qs = (
        filters.apply(Ticket.objects.all())
        .order_by("-created_at", "-id")
        .values_list(
            "id",
            "created_at",
            "status",
            "category",
            "channel",
            "queue",
            "priority",
            "service__code",
            "area__path",
            "area__code",
            "customer__number",
            "subject",
            "assignee__username",
            "sla_due_at",
            "resolved_at",
        )  # fmt: skip
    )
    after = None
    while True:
        page = qs
        if after is not None:
            created, pk = after
            page = qs.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=pk))
        batch = list(page[:chunk])
        for row in batch:
            pk, created, *rest = row
            (status, category, channel, queue, priority, service, path, area, customer, subject,
             assignee, sla_due, resolved) = rest  # fmt: skip
            yield [
                cell(v)
                for v in (
                    f"{REFERENCE_PREFIX}{pk}", created, status, category, channel, queue, priority, service,
                    _region_code(path or ""), area, customer, subject, assignee, sla_due, resolved,
                )
            ]  # fmt: skip
        if len(batch) < chunk:
            return
        after = (batch[-1][1], batch[-1][0])
