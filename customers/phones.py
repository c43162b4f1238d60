"""The one phone normaliser: whatever a caller-ID, an agent or an IVR sends, the E.164 forms it may
be stored as (``CustomerPhone.number``). Used by the look-up page, the look-up API and the customer
directory alike. Parsing and validity come from ``phonenumbers`` (Google's libphonenumber metadata).
"""

from __future__ import annotations

import re

import phonenumbers

# The markets we serve: a national number (070-…, 040-…) is tried as Swedish, then Finnish.
HOME_REGIONS = ("SE", "FI")
_TRUNK_ZERO = re.compile(r"\(\s*0\s*\)")  # "+46 (0)73-…": the national trunk zero written in brackets
_PHONE_CHARS = re.compile(r"^[+\d\s().\-/]+$")


def looks_like_phone(text: str) -> bool:
    """Digits with phone punctuation, at least seven digits: worth normalising."""
    text = text.strip()
    return bool(_PHONE_CHARS.match(text)) and sum(ch.isdigit() for ch in text) >= 7


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse(text: str, region: str | None, *, guessed: bool) -> phonenumbers.PhoneNumber | None:
    """A number given with its country code need only be possible; a guessed reading must be valid
    (assigned in the numbering plan), so guesses do not multiply into nonsense."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    ok = phonenumbers.is_valid_number if guessed else phonenumbers.is_possible_number
    return number if ok(number) else None


def phone_candidates(raw: str) -> list[str]:
    """The E.164 numbers ``raw`` may mean, most likely first; empty when it is no phone number.

    Accepts ``+46 70-123 45 67``, ``0046701234567``, ``070-123 45 67`` (Swedish, else Finnish),
    ``+46 (0)70-123 45 67``, and caller-ID style without the plus (``46701234567``; also what a
    ``+`` in a URL query becomes once decoded to a space).
    """
    text = _TRUNK_ZERO.sub("", raw or "").strip()
    if not looks_like_phone(text):
        return []
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("+"):
        attempts = [(f"+{digits}", None, False)]
    elif digits.startswith("00"):
        attempts = [(f"+{digits[2:]}", None, False)]
    elif digits.startswith("0"):
        attempts = [(digits, region, True) for region in HOME_REGIONS]
    else:  # caller-ID style: country code without the plus, else a national number without its zero
        attempts = [(f"+{digits}", None, True), *((f"0{digits}", region, True) for region in HOME_REGIONS)]
    found: list[str] = []
    for text_to_parse, region, guessed in attempts:
        number = _parse(text_to_parse, region, guessed=guessed)
        if number is not None and _e164(number) not in found:
            found.append(_e164(number))
    return found
