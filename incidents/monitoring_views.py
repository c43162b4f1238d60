"""Ops page action for monitoring: give an incident that needs a scope its scope."""

from __future__ import annotations

import re

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.roles import ADMIN, OPS, role_required
from customers.models import Area, EquipmentModel, Service
from incidents import monitoring
from incidents.models import Incident


def _by_codes(model, text: str, name: str) -> list:
    codes = [c for c in re.split(r"[\s,]+", text or "") if c]
    found = {obj.code: obj for obj in model.objects.filter(code__in=codes)}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise DomainError(_("Unknown codes: %(codes)s") % {"codes": ", ".join(unknown)}, field=name)
    return list(found.values())


@require_POST
@role_required(OPS, ADMIN)
def incident_confirm_scope(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=pk)
    try:
        result = monitoring.incident_confirm_scope(
            incident=incident,
            actor=request.user,
            services_=_by_codes(Service, request.POST.get("services", ""), "services"),
            areas=_by_codes(Area, request.POST.get("areas", ""), "areas"),
            equipment=_by_codes(EquipmentModel, request.POST.get("equipment", ""), "equipment"),
            affects_everyone=request.POST.get("affects_everyone") == "1",
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext(
                "Scope confirmed: %(count)d open ticket linked.",
                "Scope confirmed: %(count)d open tickets linked.",
                result.linked_count,
            )
            % {"count": result.linked_count},
        )
    return redirect("incidents:detail", pk)
