from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from supportdesk import health
from supportdesk.roles import home_url_name


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
