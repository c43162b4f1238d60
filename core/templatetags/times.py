"""``{% load times %}``: ``{{ value|when }}``, ``{{ value|when:"date" }}``, ``{{ value|when:"time" }}``.

The one way a template shows a time (core.times.format_when): the viewer's zone, named."""

from __future__ import annotations

from django import template

from core.times import STYLES, format_when

register = template.Library()


@register.filter
def when(value, style: str = "datetime") -> str:
    if not value:
        return ""
    return format_when(value, style if style in STYLES else "datetime")
