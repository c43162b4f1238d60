"""``{% ticket_panels "slot" obj %}``: render what higher apps registered for a slot (tickets.extensions)."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from tickets.extensions import extensions

register = template.Library()


@register.simple_tag(takes_context=True)
def ticket_panels(context, slot: str, obj) -> str:
    request = context.get("request")
    parts = []
    for panel in extensions.panels.get(slot, ()):
        panel_context = panel.context(request, obj)
        if panel_context is not None:
            parts.append(render_to_string(panel.template, panel_context, request=request))
    # Each part is a rendered template, escaped by its own autoescaping.
    return mark_safe("".join(parts))  # noqa: S308
