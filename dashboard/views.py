"""The operations dashboard (page and its polled fragment), /metrics and the incident CSV export."""

from __future__ import annotations

import csv
import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

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
def dashboard_page(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/page.html", _context(request))


@never_cache
@require_GET
@role_required(*DASHBOARD_ROLES)
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
    """The incident list as CSV, streamed row by row (constant memory), with the list's filters."""
    filters = exports.IncidentFilters.from_query(request.GET)
    rows = exports.incident_rows(filters)
    writer = csv.writer(exports.Echo())
    response = StreamingHttpResponse(
        (writer.writerow(r) for r in rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="incidents-{stamp}.csv"'
    return response
