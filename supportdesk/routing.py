"""Websocket routes, collected from the apps that own them."""

from __future__ import annotations

from django.urls import path

from notifications.consumers import AlertConsumer
from tickets.consumers import TicketPresenceConsumer

websocket_urlpatterns: list = [
    path("ws/alerts/", AlertConsumer.as_asgi()),
    path("ws/tickets/<str:reference>/presence/", TicketPresenceConsumer.as_asgi()),
]
