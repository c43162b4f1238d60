from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from incidents import monitoring
from incidents.matching import Scope
from incidents.models import (
    CompensationPolicy,
    Credit,
    Incident,
    IncidentTicketLink,
    IncidentUpdate,
    MonitoringAlertGroup,
    MonitoringLabelMap,
    MonitoringReceiver,
)
from incidents.services import incident_change_scope, scope_is_empty


class IncidentUpdateInline(admin.StackedInline):
    model = IncidentUpdate
    extra = 0


class IncidentAdminForm(forms.ModelForm):
    """An edit that empties an active incident's scope covers every customer: as on the declare
    form and the API, only when confirmed (``incident_change_scope`` applies the same guard)."""

    affects_everyone = forms.BooleanField(
        label=_("It affects every customer"),
        required=False,
        help_text=_("Needed to save a scope with no service, area, equipment model or keyword."),
    )

    # No Meta: ModelAdmin.get_form builds the model form over this class with the admin's fields.

    def clean(self):
        data = super().clean()
        incident = self.instance
        if not incident.pk or not incident.is_active or incident.needs_scope or data.get("affects_everyone"):
            return data
        saved = Incident.objects.get(pk=incident.pk)
        before = {
            "services": saved.services.all(),
            "areas": saved.areas.all(),
            "equipment": saved.equipment.all(),
            "keywords": saved.keywords,
        }
        after = {name: data.get(name) or [] for name in before}
        if scope_is_empty(**after) and not scope_is_empty(**before):
            self.add_error(
                "affects_everyone",
                _(
                    "No service, area, equipment or keyword is left, so this covers every customer. Confirm it."
                ),
            )
        return data


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    form = IncidentAdminForm
    list_display = [
        "title",
        "kind",
        "severity",
        "status",
        "source",
        "needs_scope",
        "started_at",
        "eta",
        "resolved_at",
    ]
    list_filter = ["kind", "severity", "status", "source", "needs_scope"]
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
            incident_change_scope(
                incident=incident, actor=request.user, affects_everyone=form.cleaned_data["affects_everyone"]
            )


@admin.register(IncidentTicketLink)
class IncidentTicketLinkAdmin(admin.ModelAdmin):
    list_display = ["incident", "ticket", "origin", "score", "created_at", "detached_at"]
    list_filter = ["origin", ("detached_at", admin.EmptyFieldListFilter)]
    search_fields = ["incident__title", "=ticket__id"]
    raw_id_fields = ["incident", "ticket"]
    readonly_fields = ["reasons"]
    list_select_related = ["incident", "ticket"]


# --- monitoring intake ----------------------------------------------------------------------------


@admin.register(MonitoringReceiver)
class MonitoringReceiverAdmin(admin.ModelAdmin):
    """A receiver's token is made here and shown once, in the page's messages; only its hash is kept."""

    list_display = ["name", "token_hint", "active", "created_at", "last_used_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    fields = ["name", "active", "token_hint", "created_at", "last_used_at"]
    readonly_fields = ["token_hint", "created_at", "last_used_at"]
    actions = ["new_token"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token = monitoring.receiver_token_new(receiver=obj)  # saves it
        self._show_token(request, obj, token)

    def _show_token(self, request, receiver, token: str) -> None:
        messages.warning(
            request,
            format_html(
                _("Token for {name}: <code>{token}</code> — copy it now, it is not shown again."),
                name=receiver.name,
                token=token,
            ),
        )

    @admin.action(description=_("Give the selected receivers a new token (the old one stops working)"))
    def new_token(self, request, queryset):
        for receiver in queryset:
            self._show_token(request, receiver, monitoring.receiver_token_new(receiver=receiver))


@admin.register(MonitoringLabelMap)
class MonitoringLabelMapAdmin(admin.ModelAdmin):
    list_display = ["label", "value", "dimension", "code"]
    list_filter = ["dimension", "label"]
    search_fields = ["label", "value", "code"]


@admin.register(MonitoringAlertGroup)
class MonitoringAlertGroupAdmin(admin.ModelAdmin):
    list_display = ["__str__", "receiver", "status", "incident", "received_at"]
    list_filter = ["status", "receiver"]
    search_fields = ["group_key"]
    raw_id_fields = ["incident"]
    readonly_fields = [f.name for f in MonitoringAlertGroup._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # written by the webhook only


# --- compensation ---------------------------------------------------------------------------------


@admin.register(CompensationPolicy)
class CompensationPolicyAdmin(admin.ModelAdmin):
    list_display = ["service", "plan", "min_outage_minutes", "amount_per_day", "cap", "currency"]
    list_filter = ["plan", "currency"]
    autocomplete_fields = ["service"]


@admin.register(Credit)
class CreditAdmin(admin.ModelAdmin):
    """Read-only: credits are computed when an outage is resolved (incidents/compensation.py)."""

    list_display = ["incident", "customer", "subscription", "days", "amount", "currency", "created_at"]
    list_filter = ["currency"]
    search_fields = ["=customer__number", "incident__title"]
    list_select_related = ["incident", "customer", "subscription"]
    readonly_fields = [f.name for f in Credit._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
