from __future__ import annotations

from django import template
from django.utils import timezone

from notifications.selectors import banner_incidents

register = template.Library()


@register.inclusion_tag("notifications/_banner.html")
def incident_banner() -> dict:
    """The staff banner with the active incidents, rendered on load (htmx refreshes its items)."""
    return {"incidents": banner_incidents(), "today": timezone.localdate()}
