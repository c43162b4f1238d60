"""Times as a person reads them: one zone per viewer, the zone named, the month spelt right.

Every time shown to staff goes through ``format_when`` (in templates: ``{% load times %}`` and
``{{ value|when }}``; in the live toast: the alert socket). The viewer's zone is theirs (a setting
saved in their session at sign-in) or, without one, the desk's zone for their language.

The formats are ours, not Django's locale formats: Django's Finnish ``M`` abbreviates November as
"Mar" (it truncates "marraskuu"), so Finnish uses day.month numbers and "klo", as Finns write it;
Swedish months are lower case ("28 nov"), which ``M`` (title case) is not. They are written with
plain string formatting (no ``dateformat``), because a queue page writes a hundred of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.utils import timezone, translation
from django.utils.dates import MONTHS_3
from django.utils.html import avoid_wrapping
from django.utils.timesince import TIME_STRINGS

from core.languages import TIME_ZONE_FOR_LANGUAGE

# The session key holding a staff member's chosen zone: set at sign-in and when they change it
# (supportdesk.preferences), read by supportdesk.middleware.ViewerTimeZoneMiddleware and the alert socket.
SESSION_TIME_ZONE_KEY = "supportdesk_time_zone"

# The zones offered in the preference form (any IANA name is accepted when valid).
DESK_ZONES: tuple[str, ...] = (
    "Europe/Stockholm",
    "Europe/Helsinki",
    "Europe/Oslo",
    "Europe/Copenhagen",
    "Europe/Tallinn",
    "UTC",
)

STYLES = ("datetime", "date", "time")


def is_zone(name: object) -> bool:
    return isinstance(name, str) and name in _zones()


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def zone_name_for(*, chosen: str | None, language: str | None) -> str:
    """The viewer's zone: the one they chose, else the desk's zone for their language."""
    if chosen and is_zone(chosen):
        return chosen
    return TIME_ZONE_FOR_LANGUAGE.get((language or "")[:2], settings.TIME_ZONE)


def format_when(
    value: datetime | None,
    style: str = "datetime",
    *,
    zone: ZoneInfo | None = None,
    language: str | None = None,
    now: datetime | None = None,
    name_zone: bool = True,
) -> str:
    """``28 Nov 16:02 CET`` (en), ``28 nov 16:02 CET`` (sv), ``28.11. klo 16.02 EET`` (fi): in ``zone``
    (default: the active one), the year only when it is not this year's, the zone's abbreviation last
    (unless ``name_zone`` is false: the caller names it another way).
    Plain string formatting, no ``dateformat`` (a queue page formats a hundred of these)."""
    if value is None:
        return ""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    zone = zone or timezone.get_current_timezone()
    local = value.astimezone(zone)
    language = (language or translation.get_language() or "en")[:2]
    with_year = local.year != (now or timezone.now()).astimezone(zone).year
    if language == "fi":
        date = f"{local.day}.{local.month}." + (str(local.year) if with_year else "")
        clock = f"klo {local.hour}.{local.minute:02d}"
    else:
        date = f"{local.day} {_month(local.month, language)}" + (f" {local.year}" if with_year else "")
        clock = f"{local.hour:02d}:{local.minute:02d}"
    text = date if style == "date" else clock if style == "time" else f"{date} {clock}"
    return f"{text} {local.tzname()}" if name_zone else text


_MONTHS: dict[tuple[str, int], str] = {}


def _month(month: int, language: str) -> str:
    """Django's three-letter month in ``language``: "Nov" in English, "nov" in Swedish."""
    key = (language, month)
    if key not in _MONTHS:
        with translation.override(language):
            name = str(MONTHS_3[month])
        _MONTHS[key] = name.title() if language == "en" else name
    return _MONTHS[key]


_UNITS: dict[tuple[str, str, int], str] = {}
_UNIT_SECONDS = (("day", 86400), ("hour", 3600), ("minute", 60))


def format_duration(delta: timedelta, *, language: str | None = None) -> str:
    """``2 days, 3 hours`` / ``35 minutes`` in ``language`` (default: the active one): the two largest
    of days, hours and minutes, worded as Django's ``timesince`` words them (its translations), with no
    line break inside. Cached per language and number: a queue page words two durations per row."""
    language = language or translation.get_language() or "en"
    seconds = max(0, int(delta.total_seconds()))
    counts = []
    for unit, size in _UNIT_SECONDS:
        count, seconds = divmod(seconds, size)
        counts.append((unit, count))
    first = next((i for i, (_unit_name, count) in enumerate(counts) if count), None)
    if first is None:
        return _unit(language, "minute", 0)
    # The largest unit, and the next one down when it is not zero (as timesince does).
    parts = [_unit(language, *counts[first])]
    if first + 1 < len(counts) and counts[first + 1][1]:
        parts.append(_unit(language, *counts[first + 1]))
    return _unit(language, ",", 0).join(parts)


def _unit(language: str, unit: str, count: int) -> str:
    key = (language, unit, count)
    if key not in _UNITS:
        if unit == ",":
            _UNITS[key] = translation.gettext(", ")
        else:
            _UNITS[key] = avoid_wrapping(TIME_STRINGS[unit] % {"num": count})
    return _UNITS[key]
