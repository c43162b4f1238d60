"""Websocket routes, collected from the apps that own them."""

from __future__ import annotations

websocket_urlpatterns: list = []
