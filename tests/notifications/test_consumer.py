"""The /ws/alerts/ socket: who may connect, live pushes, catch-up from last_id, receipts."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from notifications import services
from notifications.consumers import CLOSE_FORBIDDEN
from notifications.models import Alert, AlertReceipt
from supportdesk.asgi import application
from tests.factories import login_session
from tests.notifications.conftest import declare

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def session_cookie_for(user) -> bytes:
    """A real login session, as the browser would carry it."""
    return f"{settings.SESSION_COOKIE_NAME}={login_session(user)}".encode()


async def connect(
    user=None, origin: bytes = b"http://localhost:8000"
) -> tuple[WebsocketCommunicator, bool, int | None]:
    headers = [(b"origin", origin), (b"host", b"localhost:8000")]
    if user is not None and not isinstance(user, AnonymousUser):
        headers.append((b"cookie", await session_cookie_for(user)))
    communicator = WebsocketCommunicator(application, "/ws/alerts/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_an_anonymous_visitor_is_refused():
    communicator, connected, code = await connect(None)
    assert not connected
    assert code == CLOSE_FORBIDDEN


async def test_a_customer_is_refused(alice):
    user = await database_sync_to_async(lambda: alice.user)()
    _, connected, code = await connect(user)
    assert not connected
    assert code == CLOSE_FORBIDDEN


async def test_a_logged_in_user_without_a_role_is_refused(outsider):
    _, connected, code = await connect(outsider)
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_an_agent_receives_a_pushed_alert(agent, ops):
    communicator, connected, _ = await connect(agent)
    assert connected
    await communicator.send_json_to({"type": "hello", "last_id": None})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "caught-up"

    incident = await database_sync_to_async(declare)(actor=ops)  # eager: pushed on commit

    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "alert"
    assert message["alert"]["kind"] == "incident-declared"
    assert message["alert"]["incident"]["id"] == incident.pk
    assert message["alert"]["incident"]["agent_script"]["sv"].startswith("Vi känner")
    await communicator.disconnect()


async def test_an_agent_gets_their_own_ticket_alerts_but_not_a_colleagues(agent, tech, ops):
    def setup():
        incident = declare(actor=ops)
        mine = Alert.objects.create(kind="ticket-matched", incident=incident, recipient=agent)
        Alert.objects.create(kind="ticket-matched", incident=incident, recipient=tech)
        return mine

    communicator, connected, _ = await connect(agent)
    assert connected
    await communicator.send_json_to({"type": "hello", "last_id": None})
    await communicator.receive_json_from(timeout=5)
    mine = await database_sync_to_async(setup)()
    await database_sync_to_async(services.alert_push)(mine.pk)
    other = await database_sync_to_async(lambda: Alert.objects.exclude(pk=mine.pk).last().pk)()
    await database_sync_to_async(services.alert_push)(other)

    ids = set()
    while not await communicator.receive_nothing(timeout=0.5):
        ids.add((await communicator.receive_json_from())["alert"]["id"])
    assert mine.pk in ids
    assert other not in ids
    await communicator.disconnect()


async def test_a_reconnecting_browser_catches_up_from_its_last_id_oldest_first(agent, tech, ops):
    def setup():
        first = declare(actor=ops, title="First")
        declare(actor=ops, title="Second")
        declare(actor=ops, title="Third")
        Alert.objects.create(kind="ticket-matched", incident=first, recipient=agent)
        Alert.objects.create(kind="ticket-matched", incident=first, recipient=tech)
        return list(Alert.objects.order_by("id").values_list("id", "recipient_id"))

    alerts = await database_sync_to_async(setup)()
    first_id = alerts[0][0]
    visible = [pk for pk, recipient in alerts if recipient in (None, agent.pk)]

    communicator, connected, _ = await connect(agent)
    assert connected
    await communicator.send_json_to({"type": "hello", "last_id": first_id})
    got = []
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "caught-up":
            break
        got.append(message["alert"]["id"])

    assert got == [pk for pk in visible if pk > first_id]
    assert message["last_id"] == visible[-1]
    await communicator.disconnect()


async def test_a_fresh_browser_is_told_where_to_start_without_a_replay(agent, ops):
    await database_sync_to_async(declare)(actor=ops)
    newest = await database_sync_to_async(lambda: Alert.objects.get().pk)()

    communicator, _, _ = await connect(agent)
    await communicator.send_json_to({"type": "hello", "last_id": None})

    assert await communicator.receive_json_from(timeout=5) == {"type": "caught-up", "last_id": newest}
    await communicator.disconnect()


async def test_the_browsers_receipts_are_upserted(agent, ops):
    await database_sync_to_async(declare)(actor=ops)
    alert_id = await database_sync_to_async(lambda: Alert.objects.get().pk)()
    communicator, _, _ = await connect(agent)

    await communicator.send_json_to({"type": "receipt", "alert_id": alert_id, "state": "delivered"})
    await communicator.send_json_to({"type": "receipt", "alert_id": alert_id, "state": "seen"})
    await communicator.send_json_to({"type": "receipt", "alert_id": alert_id, "state": "acknowledged"})
    await communicator.send_json_to({"type": "receipt", "alert_id": "x", "state": "seen"})
    await communicator.send_json_to({"type": "hello", "last_id": alert_id})  # a round trip: all handled
    await communicator.receive_json_from(timeout=5)

    receipt = await database_sync_to_async(AlertReceipt.objects.get)(user=agent)
    assert receipt.delivered_at and receipt.seen_at
    assert receipt.acknowledged_at is None  # only the acknowledge button (a POST) does that
    await communicator.disconnect()


async def test_a_hello_rejoins_the_groups_a_redis_restart_forgot(agent, ops):
    from channels.layers import get_channel_layer

    communicator, _, _ = await connect(agent)
    await communicator.send_json_to({"type": "hello", "last_id": None})
    await communicator.receive_json_from(timeout=5)
    layer = get_channel_layer()
    if hasattr(layer, "groups"):  # in-memory layer: forget the groups, keep the channels
        layer.groups.clear()
    else:  # Redis: drop the group keys, as a restart without persistence does
        for group in ("alerts.staff", f"alerts.user.{agent.pk}"):
            key = layer._group_key(group)
            await layer.connection(layer.consistent_hash(group)).delete(key)

    await communicator.send_json_to({"type": "hello", "last_id": None})  # the browser's periodic hello
    await communicator.receive_json_from(timeout=5)
    await database_sync_to_async(declare)(actor=ops)

    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "alert"
    await communicator.disconnect()


async def test_malformed_messages_are_ignored_and_the_socket_stays_up(agent):
    communicator, _, _ = await connect(agent)
    await communicator.send_to(text_data="{not json")
    await communicator.send_json_to([1, 2, 3])
    await communicator.send_json_to({"type": "hello", "last_id": "seven"})  # treated as a fresh browser
    assert (await communicator.receive_json_from(timeout=5))["type"] == "caught-up"
    await communicator.send_json_to({"type": "receipt", "alert_id": 10**12, "state": "seen"})
    await communicator.send_json_to({"type": "hello", "last_id": 0})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "caught-up"
    await communicator.disconnect()


async def test_a_foreign_origin_is_refused_even_in_development(agent, settings):
    assert "*" in settings.ALLOWED_HOSTS  # development mode, where AllowedHostsOriginValidator let it in
    _, connected, _ = await connect(agent, origin=b"https://evil.example")
    assert not connected


async def test_an_origin_in_the_setting_is_allowed(agent, settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = ["https://desk.example.com"]
    _, connected, _ = await connect(agent, origin=b"https://desk.example.com")
    assert connected
    _, connected, _ = await connect(agent, origin=b"http://localhost:8000")
    assert not connected


async def test_a_binary_frame_closes_the_socket_cleanly(agent):
    communicator, connected, _ = await connect(agent)
    assert connected
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert (await communicator.receive_output(timeout=5)) == {"type": "websocket.close", "code": 1003}


async def test_deeply_nested_json_closes_the_socket_cleanly(agent):
    communicator, connected, _ = await connect(agent)
    await communicator.send_to(text_data="[" * 3000 + "]" * 3000)
    assert (await communicator.receive_output(timeout=5))["code"] in (1007, 1009)
    communicator, connected, _ = await connect(agent)
    await communicator.send_to(text_data="[" * 2000 + "]" * 2000)
    assert (await communicator.receive_output(timeout=5))["code"] == 1007


async def test_a_flood_of_frames_closes_the_socket(agent):
    from notifications.consumers import CLOSE_POLICY, RATE_BURST

    communicator, connected, _ = await connect(agent)
    for _ in range(RATE_BURST + 5):
        await communicator.send_to(text_data='{"type": "noise"}')
    assert (await communicator.receive_output(timeout=5)) == {"type": "websocket.close", "code": CLOSE_POLICY}
