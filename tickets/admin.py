from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from core.languages import LANGUAGE_CODES, Language
from tickets import macros
from tickets.models import Attachment, Macro, Ticket, TicketEvent


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    fields = ["created_at", "kind", "actor", "public", "body"]
    readonly_fields = ["created_at", "kind", "actor"]


class AttachmentInline(admin.TabularInline):
    """Read-only: files come with e-mail and the portal's forms, and are checked there."""

    model = Attachment
    extra = 0
    fields = ["created_at", "filename", "content_type", "size", "event", "uploaded_by"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "subject", "customer", "status", "queue", "priority", "assignee", "created_at"]
    list_filter = ["status", "queue", "category", "channel", "priority", "service"]
    search_fields = ["=id", "subject", "=customer__number", "customer__name"]
    autocomplete_fields = ["customer", "subscription", "service", "area", "equipment", "assignee"]
    list_select_related = ["customer", "assignee"]
    date_hierarchy = "created_at"
    inlines = [TicketEventInline, AttachmentInline]
    show_full_result_count = False  # COUNT(*) over a million tickets on every page is wasted work

    def get_search_results(self, request, queryset, search_term):
        # Let admins paste a reference: "SD-123" finds ticket 123.
        pk = Ticket.pk_from_reference(search_term)
        if pk is not None:
            return queryset.filter(pk=pk), False
        return super().get_search_results(request, queryset, search_term)


def _reply_field(code: str) -> forms.CharField:
    return forms.CharField(
        label=Language(code).label,  # the reply in Swedish, Finnish, English
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=20000,
    )


class MacroForm(forms.ModelForm):
    """One text box per language instead of raw JSON; placeholders are checked against the known ones."""

    # Declared on the class (the admin builds its form from declared fields): one per desk language.
    text_sv = _reply_field("sv")
    text_fi = _reply_field("fi")
    text_en = _reply_field("en")

    class Meta:
        model = Macro
        fields = ["name", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code, text in (self.instance.texts or {}).items():
            if f"text_{code}" in self.fields:
                self.fields[f"text_{code}"].initial = text

    def clean(self):
        cleaned = super().clean()
        texts = {code: cleaned.get(f"text_{code}", "").strip() for code in LANGUAGE_CODES}
        texts = {code: text for code, text in texts.items() if text}
        if not texts:
            raise forms.ValidationError(_("Write the reply in at least one language."))
        for code, text in texts.items():
            unknown = macros.unknown_placeholders(text)
            if unknown:
                self.add_error(
                    f"text_{code}",
                    _("Unknown placeholder: %(names)s.")
                    % {"names": ", ".join(sorted(f"{{{n}}}" for n in unknown))},
                )
        self.instance.texts = texts
        return cleaned


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    form = MacroForm
    list_display = ["name", "active", "languages", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    readonly_fields = ["placeholders"]

    def get_fields(self, request, obj=None):
        return ["name", "active", *(f"text_{code}" for code in LANGUAGE_CODES), "placeholders"]

    @admin.display(description=_("languages"))
    def languages(self, obj: Macro) -> str:
        return ", ".join(sorted(obj.texts))

    @admin.display(description=_("placeholders"))
    def placeholders(self, obj: Macro | None = None) -> str:
        return format_html_join(
            ", ", "<code>{{{}}}</code> {}", ((name, help) for name, help in macros.placeholders().items())
        )
