"""``{{ code|status_label }}``: a ticket status code as the reader's word for it (timeline entries
store codes, so they read right in every language). ``{% if a|previewable %}``: an attachment shown
as an image."""

from __future__ import annotations

from django import template

from tickets import attachments
from tickets.models import Ticket

register = template.Library()


@register.filter
def status_label(code: str) -> str:
    return Ticket.Status(code).label if code in Ticket.Status.values else code


@register.filter
def previewable(attachment) -> bool:
    """An attachment shown inline as an image (its sniffed type is a raster format we re-encode)."""
    return attachments.previewable(getattr(attachment, "content_type", ""))
