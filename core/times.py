"""Times as a person reads them: one zone per viewer, the zone named, the month spelt right.

Every time shown to staff goes through ``format_when`` (in templates: ``{% load times %}`` and
``{{ value|when }}``; in the live toast: the alert socket). The viewer's zone is theirs (a setting
saved in their session at sign-in) or, without one, the desk's zone for their language.

The formats are ours, not Django's locale formats: Django's Finnish ``M`` abbreviates November as
"Mar" (it truncates "marraskuu"), so Finnish uses day.month numbers and "klo", as Finns write it;
Swedish months are lower case ("28 nov"), which ``M`` (title case) is not.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.utils import dateformat, timezone, translation

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

# style → language → (format this year, format another year). Django's dateformat codes.
FORMATS: dict[str, dict[str, tuple[str, str]]] = {
    "datetime": {
        "fi": (r"j.n. \k\l\o G.i", r"j.n.Y \k\l\o G.i"),
        "sv": ("j b H:i", "j b Y H:i"),
        "en": ("j M H:i", "j M Y H:i"),
    },
    "date": {
        "fi": ("j.n.", "j.n.Y"),
        "sv": ("j b", "j b Y"),
        "en": ("j M", "j M Y"),
    },
    "time": {
        "fi": (r"\k\l\o G.i", r"\k\l\o G.i"),
        "sv": ("H:i", "H:i"),
        "en": ("H:i", "H:i"),
    },
}
STYLES = tuple(FORMATS)


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
) -> str:
    """``28 Nov 16:02 CET`` (en), ``28 nov 16:02 CET`` (sv), ``28.11. klo 16.02 EET`` (fi): in ``zone``
    (default: the active one), the year only when it is not this year's, the zone's abbreviation last."""
    if value is None:
        return ""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    zone = zone or timezone.get_current_timezone()
    local = value.astimezone(zone)
    language = (language or translation.get_language() or "en")[:2]
    formats = FORMATS.get(style, FORMATS["datetime"])
    this_year, other_year = formats.get(language, formats["en"])
    current = (now or timezone.now()).astimezone(zone)
    pattern = this_year if local.year == current.year else other_year
    with translation.override(language):
        text = dateformat.format(local, pattern)
    return f"{text} {local.tzname()}"
