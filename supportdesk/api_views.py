from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.throttling import AnonRateThrottle


class TokenThrottle(AnonRateThrottle):
    rate = "20/min"


class ObtainTokenApi(ObtainAuthToken):
    """Public: exchange a username and password for an API token (rate-limited)."""

    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]

    @extend_schema(responses=inline_serializer("Token", {"token": serializers.CharField()}))
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
