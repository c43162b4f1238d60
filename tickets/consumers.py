"""Presence on a ticket: ``/ws/tickets/<reference>/presence/`` tells the staff who have the ticket
open who else is looking at it, and who is typing.

The server keeps no roster. Each socket joins the ticket's group and announces itself; everyone
already there answers the newcomer directly, so each browser builds the roster from what it hears.
A socket that dies without saying goodbye (a killed process) simply stops announcing itself: the
browser re-announces every HEARTBEAT_SECONDS and forgets anyone it has not heard from in three
heartbeats (static/js/presence.js). That works the same on the in-memory layer and on Redis.

Protocol (JSON):
  server → {"type": "welcome", "you": user_id}
  server → {"type": "presence", "user": {"id", "name"}, "state": "viewing" | "typing" | "left"}
  client → {"type": "typing", "typing": bool}    client → {"type": "heartbeat"}
"""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.roles import is_staff_member
from tickets.models import Ticket

CLOSE_FORBIDDEN = 4403
HEARTBEAT_SECONDS = 20
MAX_FRAME_CHARS = 256  # the browser sends tiny frames only


def presence_group(ticket_pk: int) -> str:
    return f"ticket-presence-{ticket_pk}"


@database_sync_to_async
def _staff_and_ticket(user, reference: str) -> tuple[dict, int] | None:
    """Who the socket is (staff only), and the ticket's id; None when either is not allowed or not there."""
    if not getattr(user, "is_authenticated", False) or not is_staff_member(user):
        return None
    pk = Ticket.pk_from_reference(reference)
    if pk is None or not Ticket.objects.filter(pk=pk).exists():
        return None
    return {"id": user.pk, "name": user.get_full_name() or user.get_username()}, pk


class TicketPresenceConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        found = await _staff_and_ticket(
            self.scope.get("user"), self.scope["url_route"]["kwargs"]["reference"]
        )
        if found is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.me, ticket_pk = found
        self.group = presence_group(ticket_pk)
        self.typing = False
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "welcome", "you": self.me["id"]})
        await self._announce("viewing", ask_back=True)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self._announce("left")
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self.close(code=1009)
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            return
        if not isinstance(content, dict):
            return
        if content.get("type") == "typing" and isinstance(content.get("typing"), bool):
            if content["typing"] != self.typing:
                self.typing = content["typing"]
                await self._announce("typing" if self.typing else "viewing")
        elif content.get("type") == "heartbeat":
            # Also renews the group membership, which the Redis layer expires.
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self._announce("typing" if self.typing else "viewing")

    async def _announce(self, state: str, *, ask_back: bool = False) -> None:
        await self.channel_layer.group_send(
            self.group,
            {
                "type": "presence.event",
                "user": self.me,
                "state": state,
                "from": self.channel_name,
                "ask_back": ask_back,
            },
        )

    async def presence_event(self, event: dict) -> None:
        if event["from"] == self.channel_name:
            return
        await self.send_json({"type": "presence", "user": event["user"], "state": event["state"]})
        if event["ask_back"]:  # a newcomer: tell them, and only them, that I am here
            await self.channel_layer.send(
                event["from"],
                {
                    "type": "presence.event",
                    "user": self.me,
                    "state": "typing" if self.typing else "viewing",
                    "from": self.channel_name,
                    "ask_back": False,
                },
            )
