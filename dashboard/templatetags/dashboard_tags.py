from __future__ import annotations

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """12 s, 4.5 min, 3.2 h, 2.1 d: the unit a person reads at a glance; "—" when unknown."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return _("%(n)s s") % {"n": number_format(seconds, 1)}
    if seconds < 90 * 60:
        return _("%(n)s min") % {"n": number_format(seconds / 60, 1)}
    if seconds < 48 * 3600:
        return _("%(n)s h") % {"n": number_format(seconds / 3600, 1)}
    return _("%(n)s d") % {"n": number_format(seconds / 86400, 1)}


@register.filter
def percent(share: float | None) -> str:
    return "—" if share is None else f"{number_format(100 * share, 0)} %"
