from __future__ import annotations

from django.contrib import admin

from tickets.models import Attachment, Ticket, TicketEvent


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
