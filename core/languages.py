"""The languages the desk speaks. Customer profiles, per-language texts and the UI use these codes."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    SWEDISH = "sv", _("Swedish")
    FINNISH = "fi", _("Finnish")
    ENGLISH = "en", _("English")


LANGUAGE_CODES: tuple[str, ...] = tuple(Language.values)

# The session key holding a logged-in customer's profile language: set at login
# (customers/apps.py), read on every request (supportdesk.middleware.ProfileLanguageMiddleware).
SESSION_LANGUAGE_KEY = "supportdesk_language"
