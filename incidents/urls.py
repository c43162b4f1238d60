"""Ops and desk pages of the incidents app (namespace "incidents"); the public status page is in
``incidents/public_urls.py`` because its name, "status", has no namespace."""

from __future__ import annotations

from django.urls import path

from incidents import monitoring_views, views

app_name = "incidents"
urlpatterns = [
    path("ops/incidents/", views.incident_list, name="list"),
    path("ops/incidents/new/", views.incident_declare, name="declare"),
    path("ops/incidents/preview/", views.incident_preview, name="preview"),
    path("ops/incidents/pick/<str:dimension>/", views.scope_pick, name="pick"),
    path("ops/incidents/picked/<str:dimension>/", views.scope_picked, name="picked"),
    path("ops/incidents/<int:pk>/", views.incident_detail, name="detail"),
    path("ops/incidents/<int:pk>/updates/", views.incident_post_update, name="post_update"),
    path("ops/incidents/<int:pk>/resolve/", views.incident_resolve, name="resolve"),
    path("ops/incidents/<int:pk>/withdraw/", views.incident_withdraw, name="withdraw"),
    path("ops/incidents/<int:pk>/reopen/", views.incident_reopen, name="reopen"),
    path("ops/incidents/<int:pk>/tickets/", views.incident_link_ticket, name="link_ticket"),
    path(
        "ops/incidents/<int:pk>/scope/confirm/",
        monitoring_views.incident_confirm_scope,
        name="confirm_scope",
    ),
    path(
        "ops/incidents/<int:pk>/tickets/<str:reference>/detach/",
        views.incident_detach_ticket,
        name="detach_ticket",
    ),
    path("desk/clusters/link/", views.incident_link_cluster, name="link_cluster"),
    path("ops/incidents/<int:pk>/confirm/", views.surge_confirm, name="surge_confirm"),
    path("ops/incidents/<int:pk>/dismiss/", views.surge_dismiss, name="surge_dismiss"),
    path(
        "desk/tickets/<str:reference>/proposals/<int:pk>/link/",
        views.surge_link_ticket,
        name="surge_link_ticket",
    ),
    path("desk/tickets/<str:reference>/incidents/", views.incidents_for_ticket, name="for_ticket"),
    path("desk/tickets/<str:reference>/incidents/link/", views.ticket_link_incident, name="link_from_ticket"),
    path("desk/customers/<str:number>/incidents/", views.incidents_for_customer, name="for_customer"),
]
