"""Strict parsing of what arrives as text from outside (query strings, path parts, form fields).

One rule everywhere: an integer is ASCII digits only (``int()`` and ``str.isdigit`` accept
``"²"``, ``"٣"`` or ``"1_000"``), and it fits a PostgreSQL bigint. Text must be storable: no NUL
and no lone surrogates. Failures raise ``DomainError`` naming the field, which the API maps to a 400.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.errors import DomainError

# PostgreSQL bigint; larger values would fail in the database instead of here.
MAX_INT = 2**63 - 1
# NUL and lone surrogates cannot be stored in PostgreSQL text nor encoded as UTF-8.
UNSTORABLE = frozenset({0} | set(range(0xD800, 0xE000)))


def is_ascii_digits(value: str) -> bool:
    """True for a non-empty run of 0-9 and nothing else."""
    return bool(value) and value.isascii() and value.isdigit()


def parse_int(value, *, field: str, minimum: int = 0, maximum: int = MAX_INT) -> int:
    """``value`` (a str of ASCII digits, or an int) as an int in ``[minimum, maximum]``.

    Raises ``DomainError`` on ``field`` for anything else: signs, spaces, unicode digits, too big."""
    if isinstance(value, bool):  # bool is an int subclass; True is not an id
        raise DomainError(_("Give a whole number."), field=field)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and is_ascii_digits(value) and len(value) <= 19:
        number = int(value)
    else:
        raise DomainError(_("Give a whole number."), field=field)
    if not minimum <= number <= maximum:
        raise DomainError(
            _("Give a number from %(min)d to %(max)d.") % {"min": minimum, "max": maximum}, field=field
        )
    return number


def parse_int_or_none(value, *, field: str, minimum: int = 0, maximum: int = MAX_INT) -> int | None:
    """As ``parse_int``, but an absent or empty value is ``None``."""
    if value is None or value == "":
        return None
    return parse_int(value, field=field, minimum=minimum, maximum=maximum)


def has_unstorable(text: str) -> bool:
    return any(ord(ch) in UNSTORABLE for ch in text)


def clean_text(value: str, *, field: str) -> str:
    """``value`` unchanged if it can be stored; ``DomainError`` on ``field`` if it holds NUL or a lone
    surrogate."""
    if has_unstorable(value):
        raise DomainError(_("The text contains characters that cannot be stored."), field=field)
    return value


def first_unstorable(data, *, path: str = "") -> str | None:
    """The dotted path of the first string (key or value) in parsed JSON that holds NUL or a lone
    surrogate, or None. Iterative: the depth of the document cannot exhaust the stack here."""
    stack = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if has_unstorable(value):
                return where or "non_field_errors"
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{where}.{key}" if where else str(key)
                if has_unstorable(str(key)):
                    return where or "non_field_errors"
                stack.append((name, item))
        elif isinstance(value, list):
            stack.extend((f"{where}.{i}" if where else str(i), item) for i, item in enumerate(value))
    return None
