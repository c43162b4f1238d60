"""Text stored per language (``{"sv": ..., "fi": ..., "en": ...}``) and how to pick from it."""

from __future__ import annotations

from django.utils.translation import get_language


def text_in(texts: dict | None, language: str | None = None) -> str:
    """The text for ``language`` (default: the active one), else English, else any."""
    if not texts:
        return ""
    language = (language or get_language() or "en")[:2]
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")
