from __future__ import annotations

from django import template

from core.i18n import text_in

register = template.Library()


@register.filter
def in_language(texts: dict | None, language: str | None = None) -> str:
    """``{{ incident.public_message|in_language }}`` or ``|in_language:customer.language``."""
    return text_in(texts, language)
