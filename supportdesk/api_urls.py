"""API v1: each app contributes its routes; the contract is in DESIGN.md."""

from __future__ import annotations

from django.urls import include, path

from supportdesk.api_views import ObtainTokenApi

urlpatterns = [
    path("auth/token/", ObtainTokenApi.as_view(), name="api-token"),
    path("", include("customers.api_urls")),
    path("", include("tickets.api_urls")),
    path("", include("incidents.api_urls")),
]
