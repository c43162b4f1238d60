from __future__ import annotations

from django.contrib import admin

from incidents.matching import Scope
from incidents.models import Incident, IncidentTicketLink, IncidentUpdate
from incidents.services import incident_change_scope


class IncidentUpdateInline(admin.StackedInline):
    model = IncidentUpdate
    extra = 0


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "severity", "status", "source", "started_at", "eta", "resolved_at"]
    list_filter = ["kind", "severity", "status", "source"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["services", "areas", "equipment", "created_by"]
    date_hierarchy = "started_at"
    inlines = [IncidentUpdateInline]

    def save_model(self, request, obj, form, change) -> None:
        # The scope as stored before this edit (``obj`` already holds the form's values).
        obj._scope_before = Scope.of(Incident.objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)  # writes services/areas/equipment
        incident = form.instance
        if change and incident.is_active and Scope.of(incident) != incident._scope_before:
            # A scope edit here re-links like any other (set-based, in this request's transaction):
            # what an incident explains follows its scope, whoever edits it.
            incident_change_scope(incident=incident, actor=request.user)


@admin.register(IncidentTicketLink)
class IncidentTicketLinkAdmin(admin.ModelAdmin):
    list_display = ["incident", "ticket", "origin", "score", "created_at", "detached_at"]
    list_filter = ["origin", ("detached_at", admin.EmptyFieldListFilter)]
    search_fields = ["incident__title", "=ticket__id"]
    raw_id_fields = ["incident", "ticket"]
    readonly_fields = ["reasons"]
    list_select_related = ["incident", "ticket"]
