from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin

from core.languages import SESSION_LANGUAGE_KEY


class ProfileLanguageMiddleware(MiddlewareMixin):
    """Speak to a logged-in customer in the language on their profile, unless they picked another
    one with the language switcher (the cookie wins). Runs after AuthenticationMiddleware."""

    def process_request(self, request) -> None:
        language = request.session.get(SESSION_LANGUAGE_KEY)
        if language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            translation.activate(language)
            request.LANGUAGE_CODE = language
