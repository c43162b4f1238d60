"""Declaring is guarded wherever it comes from: an empty scope only on purpose, an ETA after the
start, a start in the future only for planned maintenance — and the API says which field is wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.errors import DomainError
from incidents.models import Incident, IncidentTicketLink
from incidents.services import incident_declare, incident_preview

URL = "/api/v1/incidents/"


def declare(actor, **fields):
    base = {
        "title": "Mail down",
        "kind": "outage",
        "severity": 2,
        "services": [],
        "areas": [],
        "equipment": [],
        "public_message": {"en": "Mail is down."},
    }
    return incident_declare(actor=actor, **{**base, **fields})


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def body(**extra) -> dict:
    return {"title": "Mail down", "kind": "outage", "public_message": "Mail is down.", **extra}


# --- the service --------------------------------------------------------------------------------


def test_an_empty_scope_is_refused_without_an_explicit_choice(catalogue, ticket_in, ops):
    ticket_in()
    with pytest.raises(DomainError) as refused:
        declare(ops)
    assert refused.value.field == "affects_everyone"
    assert not Incident.objects.exists()
    assert not IncidentTicketLink.objects.exists()


def test_an_empty_scope_declared_on_purpose_covers_every_open_ticket(catalogue, ticket_in, ops):
    ticket_in(service=catalogue.email)
    ticket_in(service=catalogue.iptv, area=catalogue.hisingen)
    result = declare(ops, affects_everyone=True)
    assert result.linked_count == 2


@pytest.mark.parametrize("dimension", ["services", "areas", "equipment", "keywords"])
def test_any_one_dimension_is_scope_enough(catalogue, ops, dimension):
    value = {
        "services": [catalogue.email],
        "areas": [catalogue.stockholm],
        "equipment": [catalogue.zyxel],
        "keywords": ["mail"],
    }[dimension]
    assert declare(ops, **{dimension: value}).incident.pk


def test_blank_keywords_do_not_count_as_scope(catalogue, ops):
    with pytest.raises(DomainError) as refused:
        declare(ops, keywords=["  ", ""])
    assert refused.value.field == "affects_everyone"


def test_an_eta_before_the_start_is_refused(catalogue, ops):
    start = timezone.now() - timedelta(hours=1)
    with pytest.raises(DomainError) as refused:
        declare(ops, services=[catalogue.email], started_at=start, eta=start - timedelta(days=1))
    assert refused.value.field == "eta"
    with pytest.raises(DomainError):
        declare(ops, services=[catalogue.email], started_at=start, eta=start)
    assert not Incident.objects.exists()


def test_an_eta_with_no_start_given_is_compared_with_now(catalogue, ops):
    with pytest.raises(DomainError) as refused:
        declare(ops, services=[catalogue.email], eta=timezone.now() - timedelta(minutes=5))
    assert refused.value.field == "eta"
    ok = declare(ops, services=[catalogue.email], eta=timezone.now() + timedelta(hours=1))
    assert ok.incident.eta > ok.incident.started_at


def test_only_maintenance_may_start_in_the_future(catalogue, ops):
    tomorrow = timezone.now() + timedelta(days=1)
    with pytest.raises(DomainError) as refused:
        declare(ops, services=[catalogue.email], started_at=tomorrow)
    assert refused.value.field == "started_at"
    planned = declare(
        ops,
        kind="maintenance",
        services=[catalogue.email],
        started_at=tomorrow,
        eta=tomorrow + timedelta(hours=2),
    )
    assert planned.incident.started_at == tomorrow


def test_a_start_a_few_seconds_ahead_is_clock_skew_not_the_future(catalogue, ops):
    result = declare(ops, services=[catalogue.email], started_at=timezone.now() + timedelta(seconds=30))
    assert result.incident.pk


def test_the_preview_says_when_the_scope_is_empty(catalogue, ticket_in):
    ticket_in()
    empty = incident_preview(kind="outage")
    assert empty.scope_empty and empty.ticket_count == 1
    assert not incident_preview(kind="outage", keywords=["mail"]).scope_empty


# --- the API ------------------------------------------------------------------------------------


def test_the_api_refuses_an_empty_scope_with_a_400_naming_affects_everyone(catalogue, ops):
    response = api(ops).post(URL, body(), format="json")
    assert response.status_code == 400, response.content
    assert "affects_everyone" in response.json()["fields"]
    assert not Incident.objects.exists()


def test_the_api_declares_an_empty_scope_with_affects_everyone(catalogue, ticket_in, ops):
    ticket_in()
    response = api(ops).post(URL, body(affects_everyone=True), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["linked_tickets"] == 1


def test_the_api_refuses_an_eta_before_the_start_naming_eta(catalogue, ops):
    start = timezone.now() - timedelta(hours=2)
    response = api(ops).post(
        URL,
        body(services=["email"], started_at=start.isoformat(), eta=(start - timedelta(days=1)).isoformat()),
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "eta" in response.json()["fields"]


def test_the_api_refuses_a_future_outage_naming_started_at(catalogue, ops):
    later = (timezone.now() + timedelta(days=2)).isoformat()
    response = api(ops).post(URL, body(services=["email"], started_at=later), format="json")
    assert response.status_code == 400
    assert "started_at" in response.json()["fields"]
    planned = api(ops).post(
        URL, body(kind="maintenance", services=["email"], started_at=later), format="json"
    )
    assert planned.status_code == 201, planned.content


@pytest.mark.parametrize(
    ("given", "stored"), [("minor", 1), ("major", 2), ("Critical", 3), (1, 1), (3, 3), ("2", 2)]
)
def test_the_api_takes_severity_by_name_or_number(catalogue, ops, given, stored):
    response = api(ops).post(URL, body(services=["email"], severity=given), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["severity"] == stored
    assert Incident.objects.get().severity == stored


@pytest.mark.parametrize("given", ["catastrophic", 0, 4, True, None, [2], "", 2.5])
def test_the_api_refuses_other_severities_naming_the_field(catalogue, ops, given):
    response = api(ops).post(URL, body(services=["email"], severity=given), format="json")
    assert response.status_code == 400, response.content
    assert "severity" in response.json()["fields"]


def test_the_preview_api_tells_that_an_empty_scope_needs_the_choice(catalogue, ticket_in, ops):
    ticket_in()
    data = api(ops).post(URL + "preview/", body(), format="json").json()
    assert data["scope_empty"] is True and data["linked_tickets"] == 1
    data = api(ops).post(URL + "preview/", body(services=["email"]), format="json").json()
    assert data["scope_empty"] is False


# --- changing the scope is guarded the same way ---------------------------------------------------


def test_narrowing_a_scope_to_nothing_is_refused_without_an_explicit_choice(catalogue, ticket_in, ops):
    from incidents.services import incident_change_scope

    mail = ticket_in(service=catalogue.email)
    other = ticket_in(service=catalogue.iptv, area=catalogue.hisingen)
    incident = declare(ops, services=[catalogue.email]).incident

    with pytest.raises(DomainError) as refused:
        incident_change_scope(incident=incident, actor=ops, services=[])
    assert refused.value.field == "affects_everyone"
    assert list(Incident.objects.get(pk=incident.pk).services.all()) == [catalogue.email]
    assert not IncidentTicketLink.objects.filter(ticket=other).exists()

    result = incident_change_scope(incident=incident, actor=ops, services=[], affects_everyone=True)
    assert result.linked_count == 1  # the other ticket, on purpose
    assert IncidentTicketLink.objects.filter(ticket=mail, detached_at__isnull=True).exists()


def test_the_scope_api_names_the_field_when_a_change_would_cover_everyone(catalogue, ticket_in, ops):
    ticket_in(service=catalogue.iptv)
    incident = declare(ops, services=[catalogue.email]).incident
    url = f"{URL}{incident.pk}/scope/"

    refused = api(ops).patch(url, {"services": []}, format="json")
    assert refused.status_code == 400
    assert "affects_everyone" in refused.json()["fields"]
    assert not IncidentTicketLink.objects.exists()

    allowed = api(ops).patch(url, {"services": [], "affects_everyone": True}, format="json")
    assert allowed.status_code == 200
    assert allowed.json()["linked_tickets"] == 1


def test_a_scope_already_covering_everyone_can_still_be_edited(catalogue, ticket_in, ops):
    from incidents.services import incident_change_scope

    incident = declare(ops, affects_everyone=True).incident
    # Nothing is widened: no confirmation needed to keep it (here: clear the keywords again).
    incident_change_scope(incident=incident, actor=ops, keywords=[])
    incident_change_scope(incident=incident, actor=ops, services=[catalogue.email])
