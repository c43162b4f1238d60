"""Websocket routes, collected from the apps that own them."""

from __future__ import annotations

from django.urls import path

from notifications.consumers import AlertConsumer

websocket_urlpatterns: list = [
    path("ws/alerts/", AlertConsumer.as_asgi()),
]
