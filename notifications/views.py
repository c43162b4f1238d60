"""Alert views: htmx fragments for the banner and an incident's reach, and acknowledging an alert;
e-mail views: how many customers an incident's notice reached, and one-click unsubscribe."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.roles import ADMIN, AGENT, OPS, STAFF_ROLES, TECH, role_required
from incidents.models import Incident
from notifications import outbox, rendering, selectors, services


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


@never_cache
@require_GET
@role_required(AGENT, TECH, OPS, ADMIN)
def incident_customers_told(request: HttpRequest, incident_id: int) -> HttpResponse:
    """For the incident page, polled by htmx: "n of m affected customers told"."""
    incident = get_object_or_404(Incident, pk=incident_id)
    return render(
        request,
        "notifications/_customers_told.html",
        {"incident": incident, "counts": selectors.incident_customers_told(incident)},
    )


# Public on purpose (tests/test_roles.py lists it): the signed token is the authorisation. CSRF-exempt
# because RFC 8058 has the mail client POST without any cookie or form token; the token cannot be
# forged and the only effect is an opt-out.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page confirming what the button does (link scanners must not unsubscribe anyone).
    POST (RFC 8058 ``List-Unsubscribe=One-Click`` or the page's button): stop proactive e-mail."""
    customer_id = rendering.customer_from_token(token)
    if customer_id is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        if not outbox.customer_unsubscribe_proactive(customer_id=customer_id):
            return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
        return render(request, "notifications/unsubscribe.html", {"done": True})
    return render(request, "notifications/unsubscribe.html", {"token": token})
