"""Forms of the ops UI. Codes are the values (natural keys), like the API."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.languages import LANGUAGE_CODES
from customers.models import Area, EquipmentModel, Service
from incidents.models import INACTIVE_STATUSES, Incident

LANGUAGE_LABELS = (("sv", _("Swedish")), ("fi", _("Finnish")), ("en", _("English")))


class AreaChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Area) -> str:
        # Indent by depth so the tree reads in a plain <select multiple>.
        return "\u2003" * obj.depth + f"{obj.name} ({obj.code})"


class ScopeForm(forms.Form):
    """The scope, shared by declaring and previewing."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Incident.Kind.choices, initial=Incident.Kind.OUTAGE)
    services = forms.ModelMultipleChoiceField(
        label=_("Services"), queryset=Service.objects.order_by("name"), to_field_name="code", required=False
    )
    areas = AreaChoiceField(
        label=_("Areas (each with everything under it)"),
        queryset=Area.objects.order_by("path"),
        to_field_name="code",
        required=False,
    )
    equipment = forms.ModelMultipleChoiceField(
        label=_("Equipment models"),
        queryset=EquipmentModel.objects.order_by("vendor", "model"),
        to_field_name="code",
        required=False,
    )
    keywords = forms.CharField(
        label=_("Keywords (optional, comma-separated; any one in a ticket's text matches)"),
        required=False,
        max_length=1000,
    )
    started_at = forms.DateTimeField(
        label=_("Started (empty: now)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def clean_keywords(self) -> list[str]:
        return [k.strip() for k in self.cleaned_data["keywords"].split(",") if k.strip()]


class DeclareForm(ScopeForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    severity = forms.TypedChoiceField(
        label=_("Severity"), choices=Incident.Severity.choices, coerce=int, initial=Incident.Severity.MAJOR
    )
    eta = forms.DateTimeField(
        label=_("Expected fixed"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    description = forms.CharField(label=_("Internal description"), required=False, widget=forms.Textarea)
    notify_customers = forms.NullBooleanField(
        label=_("Tell affected customers by e-mail"),
        required=False,
        widget=forms.Select(
            choices=[
                ("unknown", _("By kind: outages and maintenance yes, others no")),
                ("true", _("Yes")),
                ("false", _("No")),
            ]
        ),
    )

    field_order = [
        "title",
        "kind",
        "severity",
        "services",
        "areas",
        "equipment",
        "keywords",
        "started_at",
        "eta",
        "notify_customers",
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for prefix, label, widget in (
            ("public_message", _("Public message"), forms.Textarea(attrs={"rows": 3})),
            ("agent_script", _("What agents say"), forms.Textarea(attrs={"rows": 3})),
            ("workaround", _("Workaround, one step per line"), forms.Textarea(attrs={"rows": 4})),
        ):
            for lang, lang_label in LANGUAGE_LABELS:
                self.fields[f"{prefix}_{lang}"] = forms.CharField(
                    label=f"{label} ({lang_label})", required=False, widget=widget, max_length=5000
                )

    def texts(self, prefix: str) -> dict:
        return {lang: self.cleaned_data.get(f"{prefix}_{lang}", "") for lang, _label in LANGUAGE_LABELS}


class UpdateForm(forms.Form):
    message_sv = forms.CharField(
        label=_("Message (Swedish)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    message_fi = forms.CharField(
        label=_("Message (Finnish)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    message_en = forms.CharField(
        label=_("Message (English)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    public = forms.BooleanField(
        label=_("Public (status page and affected customers)"), required=False, initial=True
    )
    reply_to_tickets = forms.BooleanField(
        label=_("Also send it as a reply on every linked open ticket, in each customer's language"),
        required=False,
        initial=False,
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("unchanged"))]
        + [c for c in Incident.Status.choices if c[0] not in INACTIVE_STATUSES],
    )
    eta = forms.DateTimeField(
        label=_("Expected fixed"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def message(self) -> dict:
        return {lang: self.cleaned_data.get(f"message_{lang}", "") for lang in LANGUAGE_CODES}
