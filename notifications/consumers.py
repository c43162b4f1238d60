"""The agents' live alert socket at ``/ws/alerts/``.

Protocol (JSON):
  client → {"type": "hello", "last_id": N | null, "lang": "sv" | "fi" | "en"}: the server sends every alert the user may see with
           id > N (oldest first, at most CATCH_UP_LIMIT), then {"type": "caught-up", "last_id": M}.
           With ``last_id`` null (a fresh browser) nothing is replayed; M tells it where to start.
  server → {"type": "alert", "alert": {...}}: live pushes and catch-up alike; the browser dedupes by id.
           Times come formatted for this viewer (core.times: their zone, named, in the page's
           language): ``alert.created_text`` and ``alert.incident.eta_text``. The browser formats none.
  server → {"type": "queue-changed", "queue": "first-line" | ... | "*"}: a hint that a queue page
           may re-read its rows (a ticket arrived, tickets were linked).
  client → {"type": "receipt", "alert_id": N, "state": "delivered" | "seen"}: upserts the receipt.

The browser repeats its hello every RESYNC_SECONDS (static/js/alerts.js). Each hello re-joins the
groups: a Redis restart forgets every group, and a socket that survived it would otherwise stay
open yet deaf; the catch-up that follows returns whatever it missed meanwhile.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.languages import LANGUAGE_CODES
from core.roles import is_staff_member
from core.times import SESSION_TIME_ZONE_KEY, format_when, zone_name_for
from notifications import services
from notifications.models import Alert

# Refused: not logged in or not staff. A 4xxx code so the browser stops reconnecting.
CLOSE_FORBIDDEN = 4403
# A reconnecting browser catches up at most this many alerts, from at most this far back: older
# news is on the banner and the incident pages already.
CATCH_UP_LIMIT = 200
CATCH_UP_WINDOW = timedelta(hours=12)
CLIENT_RECEIPT_STATES = ("delivered", "seen")
# Per socket: a token bucket of RATE_BURST frames refilled at RATE_PER_SECOND. The browser sends a
# hello every RESYNC_SECONDS and a receipt per alert; a flood closes the socket instead of keeping
# the server busy with catch-up queries.
RATE_PER_SECOND = 5.0
RATE_BURST = 30
# The browser's frames are tiny; anything bigger (or nested deep enough to exhaust the parser) is abuse.
MAX_FRAME_CHARS = 4096
CLOSE_UNSUPPORTED = 1003  # binary frame
CLOSE_INVALID = 1007  # too deep to parse
CLOSE_POLICY = 1008  # too many frames
CLOSE_TOO_BIG = 1009


def _in_pool(func):
    """Run ``func`` in the thread pool, not on the one thread-sensitive thread: a reconnect storm
    (hundreds of agents after a restart) would otherwise queue every socket's reads behind each other."""
    return database_sync_to_async(func, thread_sensitive=False)


@_in_pool
def _staff_user_id(user, session) -> tuple[int | None, str | None]:
    # Resolves the lazy session user, reads the roles and the chosen time zone in one sync hop.
    if not getattr(user, "is_authenticated", False) or not is_staff_member(user):
        return None, None
    return user.pk, session.get(SESSION_TIME_ZONE_KEY) if session is not None else None


def localise(alert: dict, *, zone: ZoneInfo, language: str) -> dict:
    """The alert with its times written out for one viewer (the toast shows them as they are)."""
    alert = copy.copy(alert)
    created = parse_datetime(alert.get("created_at") or "")
    alert["created_text"] = format_when(created, zone=zone, language=language) if created else ""
    incident = alert.get("incident")
    if isinstance(incident, dict):
        eta = parse_datetime(incident.get("eta") or "")
        alert["incident"] = {
            **incident,
            "eta_text": format_when(eta, zone=zone, language=language) if eta else "",
        }
    return alert


@_in_pool
def _catch_up(user, last_id: int | None) -> tuple[list[dict], int]:
    visible = Alert.objects.filter(services.visible_alerts(user))
    newest = visible.order_by("-id").values_list("id", flat=True).first() or 0
    if last_id is None:
        return [], newest
    recent = visible.filter(id__gt=last_id, created_at__gte=timezone.now() - CATCH_UP_WINDOW)
    # The newest CATCH_UP_LIMIT, then oldest first so toasts appear in the order things happened.
    alerts = list(recent.order_by("-id")[:CATCH_UP_LIMIT])[::-1]
    return [services.alert_message(a) for a in alerts], max(newest, last_id)


@_in_pool
def _receipt(user, alert_id: int, state: str) -> bool:
    return services.receipt_record(alert_id=alert_id, user=user, state=state)


class AlertConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        user_id, self.chosen_zone = await _staff_user_id(user, self.scope.get("session"))
        if user_id is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user = user
        self._set_language("")
        self.joined = [services.STAFF_GROUP, services.user_group(user_id)]
        await self._join()
        await self.accept()

    async def _join(self) -> None:
        # Idempotent; also refreshes the layer's group expiry.
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """Every frame is checked before it is parsed: binary, oversize, too deep or too many frames
        close the socket cleanly (a close code, no traceback); merely malformed JSON is ignored."""
        if not self._take_token():
            await self.close(code=CLOSE_POLICY)
            return
        if text_data is None:
            await self.close(code=CLOSE_UNSUPPORTED)
            return
        if len(text_data) > MAX_FRAME_CHARS:
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            content = json.loads(text_data)
        except RecursionError:
            await self.close(code=CLOSE_INVALID)
            return
        except ValueError:
            return  # bad input is ignored, not a crash that drops the agent's socket
        await self.receive_json(content, **kwargs)

    def _set_language(self, language: object) -> None:
        """The page's language (sent in hello) picks the words and the default zone."""
        from django.conf import settings

        if not isinstance(language, str) or language not in LANGUAGE_CODES:
            language = getattr(self, "language", None) or settings.LANGUAGE_CODE[:2]
        self.language = language
        self.zone = ZoneInfo(zone_name_for(chosen=self.chosen_zone, language=language))

    def _localise(self, alert: dict) -> dict:
        return localise(alert, zone=self.zone, language=self.language)

    def _take_token(self) -> bool:
        now = time.monotonic()
        tokens, last = getattr(self, "_bucket", (float(RATE_BURST), now))
        tokens = min(float(RATE_BURST), tokens + (now - last) * RATE_PER_SECOND)
        if tokens < 1:
            self._bucket = (tokens, now)
            return False
        self._bucket = (tokens - 1, now)
        return True

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "hello":
            last_id = content.get("last_id")
            if last_id is not None and (not isinstance(last_id, int) or isinstance(last_id, bool)):
                last_id = None
            self._set_language(content.get("lang"))
            await self._join()
            alerts, newest = await _catch_up(self.user, last_id)
            for alert in alerts:
                await self.send_json({"type": "alert", "alert": self._localise(alert), "catch_up": True})
            await self.send_json({"type": "caught-up", "last_id": newest})
        elif kind == "receipt":
            alert_id, state = content.get("alert_id"), content.get("state")
            if isinstance(alert_id, int) and state in CLIENT_RECEIPT_STATES:
                await _receipt(self.user, alert_id, state)

    async def queue_changed(self, event: dict) -> None:
        """From the channel layer (``services.queue_changed_on_commit``): a queue page may re-read."""
        await self.send_json({"type": "queue-changed", "queue": event["queue"]})

    async def alert_push(self, event: dict) -> None:
        """From the channel layer (``services.publish``): pass the alert on."""
        await self.send_json({"type": "alert", "alert": self._localise(event["alert"])})
