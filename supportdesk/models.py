from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffPreference(models.Model):
    """A staff member's own settings. Read once at sign-in into the session (supportdesk.apps), so
    pages pay no query for it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_preference"
    )
    # An IANA name (core.times.is_zone); blank: the desk's zone for the user's language.
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.user} · {self.time_zone or '-'}"
