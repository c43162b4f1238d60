from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from supportdesk import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("desk/preferences/", views.preferences, name="preferences"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("customers.urls")),  # sign-in by an e-mailed link
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("tickets.urls")),
    path("", include("incidents.urls")),
    path("", include("incidents.public_urls")),  # "status", the public status page (no namespace)
    path("", include("notifications.urls")),
    path("", include("dashboard.urls")),
    path("api/v1/", include("supportdesk.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view loads its init script from a URL instead of inline, as the CSP requires.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

# The API's error shape for errors no view handles (unknown /api/ URLs, exceptions in middleware).
handler400 = "supportdesk.views.bad_request"
handler404 = "supportdesk.views.not_found"
handler500 = "supportdesk.views.server_error"
