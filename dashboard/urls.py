from __future__ import annotations

from django.urls import path

from dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("ops/dashboard/", views.dashboard_page, name="page"),
    path("ops/dashboard/board/", views.dashboard_fragment, name="board"),
    path("ops/incidents/export.csv", views.incidents_csv, name="incidents_csv"),
    path("ops/tickets/export.csv", views.tickets_csv, name="tickets_csv"),
    path("metrics", views.metrics_view, name="metrics"),
]
