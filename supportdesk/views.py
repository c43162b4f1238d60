from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error

from core.roles import (
    ADMIN,
    AGENT,
    CUSTOMER,
    OPS,
    STAFF_ROLES,
    TECH,
    is_staff_member,
    role_required,
    roles_of,
)
from core.times import DESK_ZONES, SESSION_TIME_ZONE_KEY, zone_name_for
from core.uploads import oversize_error
from supportdesk import health
from supportdesk.middleware import error_response
from supportdesk.models import StaffPreference

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
    """Public liveness: the process answers. Touches nothing else, so a restart is only asked for
    when this process itself is stuck."""
    return JsonResponse({"ok": True})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Public readiness: 200 when the database and Redis answer, else 503. Staff also see the worker
    check and error texts; anonymous callers only ok flags."""
    result = health.readiness(detail=is_staff_member(request.user))
    return JsonResponse(result, status=200 if result["ok"] else 503)


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """404: the API's JSON error shape under /api/, the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": _("Not found."), "fields": {}}, status=404)
    return page_not_found(request, exception)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """400 for what Django refuses outside any view (a form body too big, too many fields, found by
    CSRF's read of request.POST): 413/400 with the reason, JSON under /api/, a short page elsewhere."""
    status, message = oversize_error(exception) or (400, _("Bad request."))
    return error_response(request, message, status=status)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: JSON under /api/ (for errors outside any view, e.g. in middleware), the plain page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": _("Internal server error."), "fields": {}}, status=500)
    return default_server_error(request)


def signin_locked_out(request: HttpRequest, credentials=None, *args, **kwargs) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in: 429, JSON under /api/, a short page elsewhere."""
    message = _("Too many failed sign-in attempts. Try again later.")
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message, "fields": {}}, status=429)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)


class PreferenceForm(forms.Form):
    time_zone = forms.ChoiceField(label=gettext_lazy("Show times in"), required=False)

    def __init__(self, *args, default_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [
            ("", gettext_lazy("Default for my language (%(zone)s)") % {"zone": default_zone}),
            *((zone, zone) for zone in DESK_ZONES),
        ]


@require_http_methods(["GET", "POST"])
@role_required(*STAFF_ROLES)
def preferences(request: HttpRequest) -> HttpResponse:
    """A staff member's own settings: the zone every time is shown in (saved, and kept in the session)."""
    default_zone = zone_name_for(chosen=None, language=request.LANGUAGE_CODE)
    current = request.session.get(SESSION_TIME_ZONE_KEY, "")
    form = PreferenceForm(request.POST or None, initial={"time_zone": current}, default_zone=default_zone)
    if request.method == "POST" and form.is_valid():
        zone = form.cleaned_data["time_zone"]
        StaffPreference.objects.update_or_create(user=request.user, defaults={"time_zone": zone})
        if zone:
            request.session[SESSION_TIME_ZONE_KEY] = zone
        else:
            request.session.pop(SESSION_TIME_ZONE_KEY, None)
        messages.success(
            request, _("Saved. Times are now shown in %(zone)s.") % {"zone": zone or default_zone}
        )
        return redirect("preferences")
    return render(request, "preferences.html", {"form": form})
