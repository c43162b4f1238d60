"""The operations dashboard (page and its polled fragment), /metrics and the CSV exports."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.errors import DomainError
from core.replica import replica_reads, replica_status
from core.roles import ADMIN, OPS, STAFF_ROLES, TECH, role_required
from dashboard import exports, metrics, selectors

# Agents answer calls; the overview is for those who run the desk and fix the network.
DASHBOARD_ROLES = (OPS, TECH, ADMIN)
POLL_SECONDS = 30


def _context(request: HttpRequest) -> dict:
    window = selectors.window_for(request.GET.get("range", selectors.DEFAULT_RANGE))
    board = selectors.dashboard(window)
    return {
        "board": board,
        "ranges": [(key, label) for key, (label, _step) in selectors.RANGES.items()],
        "chart": _chart_data(board),
        "labels": {"tickets": _("Tickets opened"), "incident": _("Incident"), "time": _("Time")},
        "poll_seconds": POLL_SECONDS,
        # The read replica's lag as this process last measured it (None without a replica).
        "replica": replica_status(),
    }


def _chart_data(board: selectors.Dashboard) -> dict:
    """What static/js/dashboard.js draws, passed through json_script (no inline script)."""
    v = board.volume
    return {
        "x": [b.timestamp() for b in v.buckets],
        "step": board.window.step,
        "series": [{"label": s["name"], "data": data} for s, data in zip(v.services, v.series, strict=True)],
        "bands": v.bands,
    }


@never_cache
@require_GET
@role_required(*DASHBOARD_ROLES)
@replica_reads
def dashboard_page(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/page.html", _context(request))


@never_cache
@require_GET
@role_required(*DASHBOARD_ROLES)
@replica_reads
def dashboard_fragment(request: HttpRequest) -> HttpResponse:
    """Polled by htmx every POLL_SECONDS: the same figures, without the page around them."""
    return render(request, "dashboard/_board.html", _context(request))


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition, for a scraper holding ``METRICS_TOKEN`` (``Authorization: Bearer …``).

    No header: 401 (and a challenge); a wrong token, or no token configured: 403."""
    expected = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if not header:
        response = HttpResponse("Authorization: Bearer <METRICS_TOKEN> required\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    scheme, _sep, given = header.partition(" ")
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), expected):
        return HttpResponse("Forbidden\n", status=403)
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)


# Not a role: a token the scraper holds (tests/test_roles.py reads this).
metrics_view.allowed_roles = ("metrics-token",)


@require_GET
@role_required(*STAFF_ROLES)
def incidents_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The incident list as CSV, streamed in chunks (constant memory), with the list's filters."""
    filters = exports.IncidentFilters.from_query(request.GET)
    return exports.csv_response(request, exports.incident_rows(filters), "incidents")


# Customer data in bulk: for those who run the desk, not for every agent.
EXPORT_ROLES = (OPS, ADMIN)


@require_GET
@role_required(*EXPORT_ROLES)
def tickets_csv(request: HttpRequest) -> HttpResponse:
    """Tickets as CSV with the dashboard's filters (``range``, ``service``, ``region``, ``open``),
    streamed in keyset chunks (constant memory). An unknown service or area code is a 400."""
    try:
        filters = exports.TicketFilters.from_query(request.GET)
    except DomainError as exc:
        return HttpResponseBadRequest(
            f"{exc.field}: {exc.message}\n", content_type="text/plain; charset=utf-8"
        )
    return exports.csv_response(request, exports.ticket_rows(filters), "tickets")
