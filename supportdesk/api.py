"""API-wide pieces: the one place that maps domain errors to HTTP."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import Conflict, DomainError, Forbidden, NotFound, Stale
from core.idempotency import KeyReused
from core.uploads import oversize_error

# Each domain error class's HTTP status; a subclass not listed takes its nearest listed base's.
STATUS_FOR_ERROR = {
    KeyReused: status.HTTP_422_UNPROCESSABLE_ENTITY,
    NotFound: status.HTTP_404_NOT_FOUND,
    Stale: status.HTTP_412_PRECONDITION_FAILED,
    Forbidden: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
    DomainError: status.HTTP_400_BAD_REQUEST,
}


def status_for(exc: DomainError) -> int:
    return next(code for cls, code in STATUS_FOR_ERROR.items() if isinstance(exc, cls))


def exception_handler(exc, context):
    """Errors are JSON: ``{"error": message, "fields": {field: [messages]}}``; never a 500 for bad input."""
    if isinstance(exc, DomainError):
        body = {"error": exc.message, "fields": {exc.field: [exc.message]} if exc.field else {}}
        if isinstance(exc, Stale):
            body["changes"] = exc.changes
        return Response(body, status=status_for(exc))
    if refused := oversize_error(exc):
        code, message = refused
        return Response({"error": message, "fields": {}}, status=code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        first_field, first_errors = next(iter(fields.items()), ("", [""]))
        first = first_errors[0] if isinstance(first_errors, list) and first_errors else first_errors
        message = (
            f"{first_field}: {first}" if first_field and first_field != "non_field_errors" else str(first)
        )
        response.data = {"error": message, "fields": fields}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"error": str(data["detail"]), "fields": {}}
    return response
