"""Forms of the ops UI. Codes are the values (natural keys), like the API."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.languages import LANGUAGE_CODES
from customers.models import Area, EquipmentModel, Service
from incidents.models import INACTIVE_STATUSES, Incident

LANGUAGE_LABELS = (("sv", _("Swedish")), ("fi", _("Finnish")), ("en", _("English")))
TEXTS = (
    ("public_message", _("Public message"), 3),
    ("agent_script", _("What agents say"), 3),
    ("workaround", _("Workaround, one step per line"), 4),
)


def time_zone_label() -> str:
    """The zone times are typed in, named: "Europe/Stockholm (CET)" (CEST in summer)."""
    return f"{timezone.get_current_timezone_name()} ({timezone.localtime().tzname()})"


class TimeZoneNamed:
    """Every date-time field says which time zone it is typed in (a datetime-local input has none)."""

    def name_time_zones(self) -> None:
        zone = time_zone_label()
        for field in self.fields.values():
            if isinstance(field, forms.DateTimeField):
                field.help_text = _("Time zone: %(zone)s") % {"zone": zone}
                field.widget.attrs["aria-description"] = field.help_text


class ServiceChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Service) -> str:
        return obj.name


class ScopeForm(TimeZoneNamed, forms.Form):
    """The scope, shared by declaring and previewing. Areas and equipment come from the pickers
    (``incidents/_picked.html``) as codes, like the API."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Incident.Kind.choices, initial=Incident.Kind.OUTAGE)
    services = ServiceChoiceField(
        label=_("Services"),
        queryset=Service.objects.order_by("name"),
        to_field_name="code",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    areas = forms.ModelMultipleChoiceField(
        label=_("Areas (each with everything under it)"),
        queryset=Area.objects.order_by("path"),
        to_field_name="code",
        required=False,
        widget=forms.MultipleHiddenInput,
    )
    equipment = forms.ModelMultipleChoiceField(
        label=_("Equipment models"),
        queryset=EquipmentModel.objects.order_by("vendor", "model"),
        to_field_name="code",
        required=False,
        widget=forms.MultipleHiddenInput,
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
    # Not scope, but checked with it in the preview (it must be after the start).
    eta = forms.DateTimeField(
        label=_("Expected fixed"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    affects_everyone = forms.BooleanField(
        label=_("Yes, this affects every customer"),
        required=False,
        help_text=_("The scope names no service, area, equipment or keyword."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.name_time_zones()

    def clean_keywords(self) -> list[str]:
        return [k.strip() for k in self.cleaned_data["keywords"].split(",") if k.strip()]

    def picked_codes(self, name: str) -> list[str]:
        """The codes chosen in a picker (areas, equipment), from the submitted data or the initial."""
        if self.is_bound:
            return [c for c in self.data.getlist(name) if c]
        value = self.initial.get(name) or []
        return [value] if isinstance(value, str) else list(value)


class DeclareForm(ScopeForm):
    """Texts are written in one language (required: the public message), with optional translations;
    a language left empty falls back (``core.i18n.text_in``: English, else any)."""

    title = forms.CharField(label=_("Title"), max_length=200)
    severity = forms.TypedChoiceField(
        label=_("Severity"), choices=Incident.Severity.choices, coerce=int, initial=Incident.Severity.MAJOR
    )
    description = forms.CharField(
        label=_("Internal description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    language = forms.ChoiceField(label=_("Written in"), choices=LANGUAGE_LABELS)
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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = (get_language() or "en")[:2]
        for lang, lang_label in LANGUAGE_LABELS:
            self.fields[f"title_{lang}"] = forms.CharField(
                label=_("Headline for customers (%(language)s)") % {"language": lang_label},
                required=False,
                max_length=200,
            )
        for prefix, label, rows in TEXTS:
            self.fields[prefix] = forms.CharField(
                label=label,
                required=prefix == "public_message",
                widget=forms.Textarea(attrs={"rows": rows}),
                max_length=5000,
            )
            for lang, lang_label in LANGUAGE_LABELS:
                self.fields[f"{prefix}_{lang}"] = forms.CharField(
                    label=f"{label} ({lang_label})",
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 2}),
                    max_length=5000,
                )

    def titles(self) -> dict:
        """The title for customers per language (staff read ``title``; it is also the fallback)."""
        return {lang: self.cleaned_data.get(f"title_{lang}", "") for lang, _label in LANGUAGE_LABELS}

    def texts(self, prefix: str) -> dict:
        """The translations given, and the main text in the language it is written in (it wins)."""
        texts = {lang: self.cleaned_data.get(f"{prefix}_{lang}", "") for lang, _label in LANGUAGE_LABELS}
        main = self.cleaned_data.get(prefix, "")
        if main:
            texts[self.cleaned_data.get("language") or "en"] = main
        return texts

    def translation_fields(self) -> list:
        """(language label, [bound fields]) for each language, for the optional translations."""
        return [
            (
                lang_label,
                [self[f"title_{lang}"]] + [self[f"{prefix}_{lang}"] for prefix, _label, _rows in TEXTS],
            )
            for lang, lang_label in LANGUAGE_LABELS
        ]


class UpdateForm(TimeZoneNamed, forms.Form):
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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.name_time_zones()

    def message(self) -> dict:
        return {lang: self.cleaned_data.get(f"message_{lang}", "") for lang in LANGUAGE_CODES}
