from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone, translation
from django.utils.deprecation import MiddlewareMixin
from django.utils.html import escape
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.languages import SESSION_LANGUAGE_KEY, TIME_ZONE_FOR_LANGUAGE
from core.parsing import has_unstorable
from core.times import SESSION_TIME_ZONE_KEY, zone_name_for
from core.uploads import BodyTooBig, body_limit_for, oversize_error
from supportdesk.api import status_for

logger = logging.getLogger("django.request")


class ProfileLanguageMiddleware(MiddlewareMixin):
    """Speak to a logged-in customer in the language on their profile, unless they picked another
    one with the language switcher (the cookie wins), and show times on the clock of their profile
    language (``TIME_ZONE_FOR_LANGUAGE``: Finnish speakers read Helsinki time; the switcher does not
    move anyone). Runs after AuthenticationMiddleware."""

    def process_request(self, request) -> None:
        language = request.session.get(SESSION_LANGUAGE_KEY)
        if language:
            timezone.activate(ZoneInfo(TIME_ZONE_FOR_LANGUAGE.get(language, settings.TIME_ZONE)))
        if language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            translation.activate(language)
            request.LANGUAGE_CODE = language

    def process_response(self, request, response):
        timezone.deactivate()
        return response


class ViewerTimeZoneMiddleware(MiddlewareMixin):
    """Every time on a page in one zone per viewer: the one they chose (kept in the session at
    sign-in, so no query), else the desk's zone for their language. Runs after the language is set.

    Not the API: an integration's naive times are read, and times are written, in the desk's zone
    whatever language its requests name (they carry their UTC offset either way)."""

    def process_request(self, request) -> None:
        if is_api(request):
            return
        chosen = request.session.get(SESSION_TIME_ZONE_KEY) if hasattr(request, "session") else None
        language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language()
        timezone.activate(zone_name_for(chosen=chosen, language=language))
        request._viewer_time_zone = True

    def process_response(self, request, response):
        if getattr(request, "_viewer_time_zone", False):
            timezone.deactivate()
        return response


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def error_response(request, message: str, *, field: str | None = None, status: int = 400) -> HttpResponse:
    """The one error shape: JSON ``{"error": ..., "fields": {...}}`` for the API, a short page elsewhere."""
    if is_api(request):
        return JsonResponse({"error": message, "fields": {field: [message]} if field else {}}, status=status)
    text = f"{field}: {message}" if field else message
    return HttpResponse(escape(text), status=status, content_type="text/plain; charset=utf-8")


def _is_form(request) -> bool:
    content_type = request.META.get("CONTENT_TYPE", "").lower()
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


class HostileInputMiddleware:
    """Bad input is a 400 naming the field, never a 500, for every view at once.

    - Query parameters and form fields (names and values) and the path may not hold NUL or lone surrogates: PostgreSQL
      refuses them, so every ``?q=`` reader would otherwise 500 on its first query.
    - A body whose Content-Length is over its limit (``core.uploads.body_limit_for``) is a 413 before
      a byte of it is parsed (CSRF's check would otherwise read a form body first); a body too big
      or with too many parts found while parsing is a 413/400 too (``core.uploads.oversize_error``).
    - A ``DomainError`` escaping a view (``core.parsing.parse_int`` on a cursor, say) is a 400.
    - Any other exception under ``/api/`` is a JSON 500 in the same shape (and logged), not HTML.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_unstorable(request.path):
            return error_response(request, _("The address contains characters that cannot be used."))
        limit = body_limit_for(request.META)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads a malformed Content-Length as no body, and so do we
        if length > limit:
            status, message = oversize_error(BodyTooBig(limit))
            return error_response(request, message, status=status)
        for name, values in request.GET.lists():
            if has_unstorable(name) or any(has_unstorable(v) for v in values):
                return error_response(
                    request, _("The text contains characters that cannot be stored."), field=name
                )
        if request.method == "POST" and _is_form(request):
            # Django's CharField refuses NUL, but choice and model-choice fields pass it on to a query.
            try:
                fields = list(request.POST.lists())
            except MultiPartParserError:
                return error_response(request, _("The form data could not be read."))
            for name, values in fields:
                if has_unstorable(name) or any(has_unstorable(v) for v in values):
                    return error_response(
                        request, _("The text contains characters that cannot be stored."), field=name
                    )
        return self.get_response(request)

    def process_exception(self, request, exc):
        if refused := oversize_error(exc):
            status, message = refused
            return error_response(request, message, status=status)
        if isinstance(exc, DomainError):
            return error_response(request, exc.message, field=exc.field, status=status_for(exc))
        if is_api(request) and not isinstance(exc, Http404 | PermissionDenied):
            logger.error("Internal Server Error: %s", request.path, exc_info=exc, extra={"request": request})
            return error_response(request, _("Internal server error."), status=500)
        return None
