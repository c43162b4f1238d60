"""Text stored per language (``{"sv": ..., "fi": ..., "en": ...}``): how to pick from it, and the one
rule for what such a text may hold (used by forms, serializers and services alike)."""

from __future__ import annotations

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.languages import LANGUAGE_CODES
from core.parsing import has_unstorable


def text_in(texts: dict | None, language: str | None = None) -> str:
    """The text for ``language`` (default: the active one), else English, else any."""
    if not texts:
        return ""
    language = (language or get_language() or "en")[:2]
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")


def name_in(texts: dict | None, fallback: str, language: str | None = None) -> str:
    """A catalogue name or title: the one in ``language`` (default: the active one), else English,
    else ``fallback`` (the name as staff wrote it) — never a third language the reader may not read."""
    texts = texts or {}
    language = (language or get_language() or "en")[:2]
    return texts.get(language) or texts.get("en") or fallback


def clean_texts(value: dict | str | None, *, name: str, required: bool = False) -> dict[str, str]:
    """``{lang: text}`` with lang in sv/fi/en, texts stripped and empty ones dropped; a bare string is
    English. Raises ``DomainError`` on ``name`` for anything else."""
    if value is None:
        value = {}
    if isinstance(value, str):
        value = {"en": value}
    if not isinstance(value, dict):
        raise DomainError(_("Give a text, or texts per language (sv, fi, en)."), field=name)
    texts = {}
    for lang, text in value.items():
        if lang not in LANGUAGE_CODES:
            raise DomainError(_("Unknown language %(lang)s: use sv, fi or en.") % {"lang": lang}, field=name)
        if not isinstance(text, str):
            raise DomainError(_("Each language's text must be a string."), field=name)
        if has_unstorable(text):
            raise DomainError(_("The text contains characters that cannot be stored."), field=name)
        if text.strip():
            texts[lang] = text.strip()
    if required and not texts:
        raise DomainError(_("Write a message in at least one language."), field=name)
    return texts
