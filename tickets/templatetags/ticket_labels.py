"""``{{ code|status_label }}``: a ticket status code as the reader's word for it (timeline entries
store codes, so they read right in every language)."""

from __future__ import annotations

from django import template

from tickets.models import Ticket

register = template.Library()


@register.filter
def status_label(code: str) -> str:
    return Ticket.Status(code).label if code in Ticket.Status.values else code
