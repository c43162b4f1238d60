"""The public status page: its url name is "status" with no namespace (templates/base.html uses it)."""

from __future__ import annotations

from django.urls import path

from incidents import views

urlpatterns = [path("status/", views.status_page, name="status")]
