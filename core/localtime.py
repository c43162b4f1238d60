"""Local times typed without an offset, on the days the clocks change.

In Europe/Stockholm and Europe/Helsinki the last Sunday of March skips an hour (02:00–03:00 and
03:00–04:00 local do not exist) and the last Sunday of October repeats one (02:00–03:00 and
03:00–04:00 happen twice). A naive time in such an hour has no single meaning, so we refuse it and
ask for the offset, rather than guess. The desk's forms already do this (Django's DateTimeField says
the time "may be ambiguous or may not exist"); ``LocalDateTimeField`` does the same for the API, whose
naive times DRF would otherwise read as the first of the two (ambiguous) or refuse with a message
that does not say why (missing).
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


def has_no_single_meaning(naive: datetime, zone: tzinfo) -> bool:
    """True when ``naive`` falls in a DST gap (does not exist) or overlap (exists twice) in ``zone``:
    PEP 495's two folds then give different UTC offsets."""
    return naive.replace(tzinfo=zone, fold=0).utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset()


class LocalDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time; one without an offset is read in the desk's time zone, and refused
    (400, naming the field) when the clocks change during that hour."""

    default_error_messages = {
        "no_single_meaning": _(
            "%(value)s does not exist or exists twice in %(zone)s (the clocks change that night): "
            "give the time with its UTC offset, e.g. 2026-10-25T02:30:00+02:00."
        ),
    }

    def enforce_timezone(self, value: datetime) -> datetime:
        zone = getattr(self, "timezone", None) or timezone.get_current_timezone()
        if timezone.is_naive(value) and has_no_single_meaning(value, zone):
            self.fail("no_single_meaning", value=value.isoformat(), zone=str(zone))
        return super().enforce_timezone(value)
