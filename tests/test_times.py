"""Times as staff read them: one zone per viewer (their setting, else their language's), the zone
named, month names right in sv/fi/en, and the live toast's times written by the server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse

from core.times import SESSION_TIME_ZONE_KEY, format_duration, format_when
from supportdesk.models import StaffPreference
from tests import factories

# 28 November 2026, 15:02 UTC: 16:02 in Stockholm, 17:02 in Helsinki.
AT = datetime(2026, 11, 28, 15, 2, tzinfo=UTC)
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
STOCKHOLM, HELSINKI = ZoneInfo("Europe/Stockholm"), ZoneInfo("Europe/Helsinki")


@pytest.mark.parametrize(
    ("language", "zone", "text"),
    [
        ("en", STOCKHOLM, "28 Nov 16:02 CET"),
        ("sv", STOCKHOLM, "28 nov 16:02 CET"),
        # Django's own Finnish "M" would say "Mar" for November.
        ("fi", HELSINKI, "28.11. klo 17.02 EET"),
    ],
)
def test_a_time_is_written_in_the_viewers_zone_and_language_with_the_zone_named(language, zone, text):
    assert format_when(AT, zone=zone, language=language, now=NOW) == text


def test_another_years_time_says_its_year():
    now = datetime(2027, 1, 2, tzinfo=UTC)
    assert format_when(AT, zone=STOCKHOLM, language="en", now=now) == "28 Nov 2026 16:02 CET"
    assert format_when(AT, zone=HELSINKI, language="fi", now=now) == "28.11.2026 klo 17.02 EET"
    assert format_when(AT, "date", zone=HELSINKI, language="fi", now=now) == "28.11.2026 EET"


def test_summer_time_is_named_as_such():
    june = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    assert format_when(june, zone=STOCKHOLM, language="en", now=june) == "1 Jun 12:00 CEST"


@pytest.fixture
def ticket(db, agent):
    ticket = factories.open_ticket()
    ticket.events.update(created_at=AT)
    return ticket


def page(client, ticket) -> str:
    return client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()


def test_the_ticket_page_shows_times_in_the_desks_zone_by_default(client, agent, ticket):
    client.force_login(agent)
    html = page(client, ticket)
    assert "16:02 CET" in html
    assert 'data-testid="viewer-zone"' in html and "Europe/Stockholm" in html


def test_a_finnish_speaking_agent_reads_helsinki_time_by_default(client, agent, ticket):
    client.force_login(agent)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fi"
    html = page(client, ticket)
    assert "klo 17.02 EET" in html
    assert "16:02" not in html


def test_an_agents_chosen_zone_is_used_from_their_next_sign_in_on(client, agent, ticket):
    StaffPreference.objects.create(user=agent, time_zone="Europe/Helsinki")
    client.force_login(agent)  # the preference is read once, at sign-in
    html = page(client, ticket)
    assert "17:02 EET" in html
    assert "16:02 CET" not in html


def test_an_agent_changes_their_zone_on_the_settings_page(client, agent, ticket):
    client.force_login(agent)
    response = client.post(reverse("preferences"), {"time_zone": "UTC"})
    assert response.status_code == 302
    assert StaffPreference.objects.get(user=agent).time_zone == "UTC"
    assert "15:02 UTC" in page(client, ticket)
    # Back to the default.
    client.post(reverse("preferences"), {"time_zone": ""})
    assert "16:02 CET" in page(client, ticket)


def test_an_unknown_zone_is_a_form_error_not_a_crash(client, agent):
    client.force_login(agent)
    response = client.post(reverse("preferences"), {"time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    assert not StaffPreference.objects.filter(user=agent).exists()


def test_customers_and_visitors_have_no_staff_settings_page(client, alice):
    assert client.get(reverse("preferences")).status_code == 302  # to the login page
    client.force_login(alice.user)
    assert client.get(reverse("preferences")).status_code == 403


# --- the live toast: times come formatted from the server ------------------------------------------


@database_sync_to_async
def _session_for(user, zone: str | None) -> str:
    key = factories.login_session(user)
    if zone:
        session = SessionStore(session_key=key)
        session[SESSION_TIME_ZONE_KEY] = zone
        session.save()
    return key


async def _socket(user, zone: str | None) -> WebsocketCommunicator:
    from supportdesk.asgi import application

    cookie = f"{settings.SESSION_COOKIE_NAME}={await _session_for(user, zone)}".encode()
    headers = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000"), (b"cookie", cookie)]
    communicator = WebsocketCommunicator(application, "/ws/alerts/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("zone", "language", "eta_text"),
    [
        (None, "sv", "15 jan {year} 10:30 CET"),
        (None, "fi", "15.1.{year} klo 11.30 EET"),
        ("Europe/Helsinki", "en", "15 Jan {year} 11:30 EET"),
    ],
)
async def test_the_toast_gets_the_eta_written_for_its_viewer(agent, ops, zone, language, eta_text):
    from tests.notifications.conftest import declare

    year = datetime.now(UTC).year + 1  # next January: always in the future, always with its year
    eta = datetime(year, 1, 15, 9, 30, tzinfo=UTC)
    communicator = await _socket(agent, zone)
    await communicator.send_json_to({"type": "hello", "last_id": None, "lang": language})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "caught-up"

    await database_sync_to_async(declare)(actor=ops, eta=eta)

    alert = (await communicator.receive_json_from(timeout=5))["alert"]
    assert alert["incident"]["eta_text"] == eta_text.format(year=year)
    assert alert["incident"]["eta"] == eta.isoformat()  # the machine-readable value stays
    assert alert["created_text"].endswith(" CET" if zone is None and language == "sv" else " EET")
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=20), "0\xa0minutes"),
        (timedelta(minutes=35), "35\xa0minutes"),
        (timedelta(hours=1, minutes=1), "1\xa0hour, 1\xa0minute"),
        (timedelta(days=2, hours=12, minutes=5), "2\xa0days, 12\xa0hours"),
        (timedelta(days=2, minutes=5), "2\xa0days"),  # adjacent units only, as timesince
        (timedelta(days=40, hours=3), "40\xa0days, 3\xa0hours"),
        (-timedelta(hours=2), "0\xa0minutes"),
    ],
)
def test_a_duration_is_worded_with_its_two_largest_units(delta, text):
    from django.utils import translation

    with translation.override("en"):
        assert format_duration(delta) == text


def test_durations_are_worded_in_the_active_language():
    from django.utils import translation

    with translation.override("sv"):
        assert format_duration(timedelta(days=1, hours=2)) == "1\xa0dag, 2\xa0timmar"
    with translation.override("fi"):
        assert format_duration(timedelta(hours=5)) == "5\xa0tuntia"
