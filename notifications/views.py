"""Alert views: htmx fragments for the banner and an incident's reach, and acknowledging an alert."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.roles import ADMIN, AGENT, OPS, STAFF_ROLES, TECH, role_required
from incidents.models import Incident
from notifications import selectors, services


@never_cache
@require_GET
@role_required(*STAFF_ROLES)
def banner(request: HttpRequest) -> HttpResponse:
    """The banner's items, swapped into #incident-banner when an alert arrives."""
    context = {"incidents": selectors.banner_incidents(), "today": timezone.localdate()}
    return render(request, "notifications/_banner_items.html", context)


@require_POST
@role_required(*STAFF_ROLES)
def acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    """The agent has read the alert and knows what to tell callers."""
    if not services.receipt_record(alert_id=alert_id, user=request.user, state="acknowledged"):
        raise Http404
    if request.htmx:
        return render(request, "notifications/_acknowledged.html")
    return HttpResponse(status=204)


@never_cache
@require_GET
@role_required(AGENT, TECH, OPS, ADMIN)
def incident_reach(request: HttpRequest, incident_id: int) -> HttpResponse:
    """For the incident page, polled by htmx: how many staff were reached, who acknowledged."""
    incident = get_object_or_404(Incident, pk=incident_id)
    return render(
        request,
        "notifications/_reach.html",
        {"incident": incident, "reach": selectors.incident_reach(incident)},
    )
