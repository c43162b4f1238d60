from __future__ import annotations

from django.contrib import admin

from incidents.models import Incident, IncidentTicketLink, IncidentUpdate


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


@admin.register(IncidentTicketLink)
class IncidentTicketLinkAdmin(admin.ModelAdmin):
    list_display = ["incident", "ticket", "origin", "score", "created_at", "detached_at"]
    list_filter = ["origin", ("detached_at", admin.EmptyFieldListFilter)]
    search_fields = ["incident__title", "=ticket__id"]
    raw_id_fields = ["incident", "ticket"]
    readonly_fields = ["reasons"]
    list_select_related = ["incident", "ticket"]
