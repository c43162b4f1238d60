from __future__ import annotations

from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns: list = [
    path("alerts/banner/", views.banner, name="banner"),
    path("alerts/<int:alert_id>/ack/", views.acknowledge, name="ack"),
    path("ops/incidents/<int:incident_id>/reach/", views.incident_reach, name="incident_reach"),
    path(
        "ops/incidents/<int:incident_id>/customers-told/",
        views.incident_customers_told,
        name="incident_customers_told",
    ),
    path("email/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
