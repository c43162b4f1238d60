"""Catalogue names and titles in the viewer's language: ``{{ service|local_name }}``."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def local_name(obj, language: str | None = None) -> str:
    """An object's ``title_in``/``name_in`` for ``language`` (default: the active one), else ``str``."""
    for method in ("title_in", "name_in"):
        if callable(getter := getattr(obj, method, None)):
            return getter(language)
    return "" if obj is None else str(obj)
