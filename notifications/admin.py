from __future__ import annotations

from django.contrib import admin

from notifications.models import Alert, AlertReceipt, Notification


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "incident", "ticket", "recipient", "created_at", "pushed_at"]
    list_filter = ["kind", ("pushed_at", admin.EmptyFieldListFilter)]
    raw_id_fields = ["incident", "ticket", "recipient"]
    list_select_related = ["incident", "recipient"]


@admin.register(AlertReceipt)
class AlertReceiptAdmin(admin.ModelAdmin):
    list_display = ["alert", "user", "delivered_at", "seen_at", "acknowledged_at"]
    raw_id_fields = ["alert", "user"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Failed e-mails (filter by state) with the server's answer in ``last_error``."""

    list_display = ["kind", "to_email", "state", "attempts", "last_error", "created_at", "sent_at"]
    list_filter = ["state", "kind", "language"]
    search_fields = ["to_email", "key", "subject"]
    raw_id_fields = ["customer", "ticket", "incident"]
    readonly_fields = ["key", "message_id", "claimed_until", "next_attempt_at", "attempts", "sent_at"]
