"""Domain errors: a service refused an operation for a reason the caller can fix.

They know nothing of HTTP; ``supportdesk.api.exception_handler`` maps each class to a status code,
and views turn them into form errors.
"""

from __future__ import annotations


class DomainError(Exception):
    """Refused: bad input or a state that does not allow the change. ``field`` names what is at fault."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The thing the operation is about does not exist (or is not the caller's to see)."""


class Forbidden(DomainError):
    """The caller may not do this to this object."""


class Conflict(DomainError):
    """The object changed since the caller read it, or the change races another."""


class Stale(Conflict):
    """The caller's copy is out of date: it read a version (an ``If-Match`` header, a form's hidden
    ``version``) that someone else's change has since replaced. ``changes`` says what changed."""

    def __init__(self, message: str, *, changes: list[str] | None = None, field: str | None = None):
        super().__init__(message, field=field)
        self.changes = changes or []
