"""Domain edges: a resolved incident's ETA is fixed; local times the clocks skip or repeat are refused
with a clear error (forms and API, Stockholm and Helsinki); a customer writing to a closed ticket
re-opens it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.errors import DomainError
from core.localtime import has_no_single_meaning
from incidents.forms import UpdateForm
from incidents.models import Incident
from incidents.services import incident_post_update, incident_resolve
from tests import factories
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_comment, ticket_set_status

pytestmark = [pytest.mark.django_db, pytest.mark.core]

STOCKHOLM, HELSINKI = ZoneInfo("Europe/Stockholm"), ZoneInfo("Europe/Helsinki")
# 2026: clocks go forward on 29 March, back on 25 October (01:00 UTC both times).
GAPS = {STOCKHOLM: "2026-03-29T02:30", HELSINKI: "2026-03-29T03:30"}
OVERLAPS = {STOCKHOLM: "2026-10-25T02:30", HELSINKI: "2026-10-25T03:30"}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- a resolved incident's ETA -------------------------------------------------------------------


def test_a_resolved_incident_refuses_a_new_eta(ops):
    incident = factories.declare_incident(actor=ops).incident
    incident_resolve(incident=incident, actor=ops)
    with pytest.raises(DomainError) as refused:
        incident_post_update(incident=incident, actor=ops, message="Later", eta=timezone.now())
    assert refused.value.field == "eta"
    incident.refresh_from_db()
    assert incident.eta is None


def test_the_api_refuses_an_eta_on_a_resolved_incident_with_a_400_naming_eta(ops):
    incident = factories.declare_incident(actor=ops).incident
    incident_resolve(incident=incident, actor=ops)
    response = api(ops).post(
        f"/api/v1/incidents/{incident.pk}/updates/",
        {"message": "Fixed, really", "eta": "2026-05-01T12:00:00+02:00"},
        format="json",
    )
    assert response.status_code == 400
    assert "eta" in response.json()["fields"]
    assert Incident.objects.get(pk=incident.pk).eta is None


def test_an_active_incident_still_takes_an_eta(ops):
    incident = factories.declare_incident(actor=ops).incident
    response = api(ops).post(
        f"/api/v1/incidents/{incident.pk}/updates/",
        {"message": "Soon", "eta": "2030-05-01T12:00:00+02:00"},
        format="json",
    )
    assert response.status_code == 201, response.content


# --- daylight saving time ------------------------------------------------------------------------


@pytest.mark.parametrize("zone", [STOCKHOLM, HELSINKI], ids=str)
def test_times_in_the_gap_and_the_overlap_have_no_single_meaning(zone):
    for text in (GAPS[zone], OVERLAPS[zone]):
        assert has_no_single_meaning(datetime.fromisoformat(text), zone)
    assert not has_no_single_meaning(datetime.fromisoformat("2026-03-29T12:00"), zone)


@pytest.mark.parametrize("zone", [STOCKHOLM, HELSINKI], ids=str)
@pytest.mark.parametrize("kind", ["gap", "overlap"])
def test_the_update_form_refuses_a_local_time_the_clocks_skip_or_repeat(zone, kind):
    text = (GAPS if kind == "gap" else OVERLAPS)[zone]
    with timezone.override(zone):
        form = UpdateForm(data={"message_en": "Update", "public": "on", "eta": text})
        assert not form.is_valid()
    assert "ambiguous" in form.errors["eta"][0]


@pytest.mark.parametrize("zone", [STOCKHOLM, HELSINKI], ids=str)
@pytest.mark.parametrize("kind", ["gap", "overlap"])
def test_the_api_refuses_a_naive_time_the_clocks_skip_or_repeat(ops, zone, kind):
    text = (GAPS if kind == "gap" else OVERLAPS)[zone]
    incident = factories.declare_incident(actor=ops).incident
    with timezone.override(zone):
        response = api(ops).post(
            f"/api/v1/incidents/{incident.pk}/updates/", {"message": "Soon", "eta": text}, format="json"
        )
    assert response.status_code == 400
    assert "UTC offset" in response.json()["fields"]["eta"][0]
    assert Incident.objects.get(pk=incident.pk).eta is None


def test_the_same_overlap_time_with_an_offset_is_accepted_exactly(ops):
    incident = factories.declare_incident(actor=ops).incident
    # 02:30 the second time round in Stockholm: after the clocks went back, so CET (+01:00).
    response = api(ops).post(
        f"/api/v1/incidents/{incident.pk}/updates/",
        {"message": "Soon", "eta": "2026-10-25T02:30:00+01:00"},
        format="json",
    )
    assert response.status_code == 201, response.content
    eta = Incident.objects.get(pk=incident.pk).eta
    assert eta == datetime(2026, 10, 25, 1, 30, tzinfo=ZoneInfo("UTC"))


# --- a customer writing to a closed ticket -------------------------------------------------------


@pytest.mark.parametrize("status", [Ticket.Status.CLOSED, Ticket.Status.RESOLVED])
def test_a_customer_reply_to_a_closed_ticket_reopens_it(client, alice, status, settings):
    ticket = factories.open_ticket(customer=alice)
    ticket_set_status(ticket=ticket, status=status, actor=alice.user)
    client.force_login(alice.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the texts below in English
    page = client.get(f"/my/tickets/{ticket.reference}/").content.decode()
    assert "re-opens it" in page
    response = client.post(f"/my/tickets/{ticket.reference}/reply/", {"body": "It broke again"}, follow=True)
    assert "open again" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.resolved_at is None
    assert TicketEvent.objects.filter(
        ticket=ticket, kind=TicketEvent.Kind.STATUS, data__to=Ticket.Status.OPEN
    ).exists()


def test_a_customer_api_comment_on_a_closed_ticket_reopens_it(alice):
    ticket = factories.open_ticket(customer=alice)
    ticket_set_status(ticket=ticket, status=Ticket.Status.CLOSED, actor=alice.user)
    response = api(alice.user).post(
        f"/api/v1/tickets/{ticket.reference}/comments/", {"body": "Still broken"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["status"] == Ticket.Status.OPEN


def test_a_customer_reply_to_a_merged_ticket_does_not_reopen_it(alice, agent):
    from tickets.services import ticket_merge

    kept = factories.open_ticket(customer=alice)
    duplicate = factories.open_ticket(customer=alice)
    ticket_merge(ticket=duplicate, into=kept, actor=agent)
    duplicate.refresh_from_db()
    ticket_comment(ticket=duplicate, actor=alice.user, body="Hello?", public=True)
    duplicate.refresh_from_db()
    assert duplicate.status == Ticket.Status.CLOSED


def test_a_staff_note_on_a_closed_ticket_leaves_it_closed(alice, agent):
    ticket = factories.open_ticket(customer=alice)
    ticket_set_status(ticket=ticket, status=Ticket.Status.CLOSED, actor=agent)
    api(agent).post(f"/api/v1/tickets/{ticket.reference}/comments/", {"body": "FYI"}, format="json")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
