"""The site's URLconf plus an API view that fails, to see what an unhandled exception looks like."""

from __future__ import annotations

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from supportdesk.urls import handler404, handler500  # noqa: F401
from supportdesk.urls import urlpatterns as site_urlpatterns


class FailingApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("secret connection string postgres://db:5432")

    def post(self, request):  # pragma: no cover - shape only
        return Response({})


urlpatterns = [path("api/v1/failing/", FailingApi.as_view()), *site_urlpatterns]
