from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.roles import ADMIN, AGENT, CUSTOMER, OPS, TECH, roles_of
from supportdesk import health

# Where each role lands after login, first match wins (the composition root knows every app's URLs).
HOME_BY_ROLE = (
    (OPS, "incidents:list"),
    (TECH, "tickets:escalations"),
    (AGENT, "tickets:queue"),
    (ADMIN, "admin:index"),
    (CUSTOMER, "tickets:my_tickets"),
)


def home_url_name(user) -> str | None:
    roles = roles_of(user)
    for role, url_name in HOME_BY_ROLE:
        if role in roles:
            return url_name
    return None


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Public entry: each role lands on its own home; everyone else on the login page."""
    if not request.user.is_authenticated:
        return redirect("login")
    url_name = home_url_name(request.user)
    return redirect(url_name) if url_name else redirect("status")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Public: database, Redis and worker status, 503 when any is down (for load balancers)."""
    result = health.report()
    return JsonResponse(result, status=200 if result["ok"] else 503)
