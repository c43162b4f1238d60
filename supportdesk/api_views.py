from __future__ import annotations

import logging

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.throttling import AnonRateThrottle

from supportdesk.views import signin_locked_out

logger = logging.getLogger(__name__)


class TokenThrottle(AnonRateThrottle):
    """A coarse per-address rate on the token endpoint, on top of django-axes' per-user lockout.

    It counts in the cache (Redis); when Redis is down it lets the request through rather than
    answering 500, since axes (in the database) still guards the password."""

    rate = "20/min"

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache backend's connection errors (redis-py's, or others)
            logger.warning("token throttle skipped: the cache is unreachable", exc_info=True)
            return True


class ObtainTokenApi(ObtainAuthToken):
    """Public: exchange a username and password for an API token (rate-limited)."""

    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]

    @extend_schema(responses=inline_serializer("Token", {"token": serializers.CharField()}))
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            # authenticate() hides axes' lockout as a failed sign-in; say it is a lockout (429).
            if getattr(request, "axes_locked_out", False):
                return signin_locked_out(request._request)
            raise
