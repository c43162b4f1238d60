from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from core.i18n import clean_texts
from core.languages import Language
from customers.models import Area, Customer, CustomerPhone, EquipmentModel, Service, Subscription


class NamesForm(forms.ModelForm):
    """A catalogue entry's ``names`` as one box per language instead of raw JSON: an empty box means
    "no name in that language" (readers then get the English one, else the fallback). Checked by
    ``core.i18n.clean_texts``, the one rule for per-language texts."""

    name_sv = forms.CharField(label=_("Name in Swedish"), required=False, max_length=120)
    name_fi = forms.CharField(label=_("Name in Finnish"), required=False, max_length=120)
    name_en = forms.CharField(label=_("Name in English"), required=False, max_length=120)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = self.instance.names or {}
        for code in Language.values:
            self.fields[f"name_{code}"].initial = names.get(code, "")

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["names"] = clean_texts(
                {code: cleaned.get(f"name_{code}") or "" for code in Language.values}, name="names"
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None
        return cleaned

    def save(self, commit: bool = True):
        self.instance.names = self.cleaned_data["names"]
        return super().save(commit)


def _names_fieldset(*fields: str) -> tuple:
    return (
        (None, {"fields": fields}),
        (_("Name per language"), {"fields": [f"name_{code}" for code in Language.values]}),
    )


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    form = NamesForm
    fieldsets = _names_fieldset("code", "name", "description")
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    form = NamesForm
    fieldsets = _names_fieldset("code", "name", "kind", "parent", "path", "depth", "services")
    list_display = ["name", "code", "kind", "path"]
    list_filter = ["kind", "depth"]
    search_fields = ["code", "name", "path"]
    autocomplete_fields = ["parent"]
    filter_horizontal = ["services"]
    readonly_fields = ["path", "depth"]

    def get_readonly_fields(self, request, obj=None):
        # The path is derived from the parent once; moving a subtree is not an admin edit.
        return [*self.readonly_fields, "parent", "code"] if obj else self.readonly_fields


@admin.register(EquipmentModel)
class EquipmentModelAdmin(admin.ModelAdmin):
    form = NamesForm
    fieldsets = _names_fieldset("code", "vendor", "model", "firmware")
    list_display = ["code", "vendor", "model", "firmware"]
    list_filter = ["vendor"]
    search_fields = ["code", "vendor", "model"]


class CustomerPhoneInline(admin.TabularInline):
    model = CustomerPhone
    extra = 0


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    autocomplete_fields = ["service", "area", "equipment"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "email", "language", "preferred_channel"]
    list_filter = ["language", "preferred_channel"]
    search_fields = ["=number", "name", "email", "phones__number"]
    autocomplete_fields = ["user"]
    inlines = [CustomerPhoneInline, SubscriptionInline]
    show_full_result_count = False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["customer", "service", "area", "equipment", "plan", "active"]
    list_filter = ["plan", "active", "service"]
    search_fields = ["=customer__number", "customer__name", "address"]
    autocomplete_fields = ["customer", "service", "area", "equipment"]
    list_select_related = ["customer", "service", "area", "equipment"]
    show_full_result_count = False
