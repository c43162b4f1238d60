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

# The clock a customer reads times on. Customers have no country; their language is the best proxy
# we hold (Finnish speakers are in Finland, the others mostly in Sweden: the site's zone).
TIME_ZONE_FOR_LANGUAGE: dict[str, str] = {"fi": "Europe/Helsinki"}
