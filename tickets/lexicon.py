"""Guessing a ticket's service from its words, in Swedish, Finnish and English.

Used only when neither the ticket nor its subscription names a service; the guess is recorded as
``Ticket.service_source = "text"`` and shown as a reason on any link it leads to.
"""

from __future__ import annotations

import re

# service code → words that point to it (lower-case). Words of four letters or more also match as
# prefixes, for Finnish and Swedish inflections (sähköpostini, bredbandet); shorter ones whole only.
SERVICE_WORDS: dict[str, tuple[str, ...]] = {
    "email": (
        "e-post",
        "epost",
        "mejl",
        "mail",
        "e-mail",
        "email",
        "sähköposti",
        "sähköpost",
        "posti",
        "outlook",
        "imap",
        "smtp",
    ),
    "broadband": (
        "bredband",
        "internet",
        "fiber",
        "fibre",
        "laajakaista",
        "valokuitu",
        "nettiyhteys",
        "broadband",
        "wifi",
        "wi-fi",
        "router",
        "modem",
        "reititin",
    ),
    "dsl": ("adsl", "vdsl", "dsl"),
    "mobile-4g": ("4g", "mobilt bredband", "mobiilidata", "mobile data", "lte"),
    "mobile-5g": ("5g",),
    "iptv": ("iptv", "tv-box", "digibox", "tv-kanal", "kanava", "tv channel", "tv", "televisio"),
    "voip": ("voip", "ip-telefoni", "fast telefoni", "lankapuhelin", "landline", "ip phone", "ip-puhelin"),
}


def _word_pattern(word: str) -> str:
    return re.escape(word) + ("" if len(word) >= 4 else r"(?!\w)")


_PATTERNS = {
    code: re.compile(r"(?<![\w-])(?:" + "|".join(_word_pattern(w) for w in words) + ")", re.IGNORECASE)
    for code, words in SERVICE_WORDS.items()
}


def guess_service_code(*texts: str) -> str | None:
    """The service code whose words occur most often in ``texts``, or None when none does."""
    text = " ".join(t for t in texts if t)
    best, best_hits = None, 0
    for code, pattern in _PATTERNS.items():
        hits = len(pattern.findall(text))
        if hits > best_hits:
            best, best_hits = code, hits
    return best
