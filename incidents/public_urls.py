"""The public status page and its feed and subscriptions: url names without a namespace ("status" is
used by templates/base.html)."""

from __future__ import annotations

from django.urls import path

from incidents import status_views as views

urlpatterns = [
    path("status/", views.status_page, name="status"),
    path("status/area/<slug:code>/feed/", views.area_feed, name="status-feed"),
    path("status/subscribe/", views.status_subscribe, name="status-subscribe"),
    path("status/subscribe/sent/", views.status_subscribe_sent, name="status-subscribe-sent"),
    path("status/subscribe/<str:token>/", views.status_subscribe_confirm, name="status-subscribe-confirm"),
    path("status/unsubscribe/<str:token>/", views.status_unsubscribe, name="status-unsubscribe"),
]
