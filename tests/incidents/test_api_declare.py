"""POST /api/v1/incidents/ and /preview/: ops declare; bad input is a 400 naming the field."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from incidents.models import Incident, IncidentTicketLink
from tests.factories import SubscriptionFactory

URL = "/api/v1/incidents/"


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def body(**extra) -> dict:
    return {
        "title": "Mail down",
        "kind": "outage",
        "severity": 3,
        "services": ["email"],
        "areas": ["se-ab"],
        "public_message": "E-mail is down in Stockholm.",
        "agent_script": {"sv": "Vi känner till felet.", "en": "We know about it."},
        **extra,
    }


def test_ops_declare_and_get_linked_and_affected_counts(catalogue, ticket_in, ops):
    ticket_in(service=catalogue.email, area=catalogue.solna)
    SubscriptionFactory(service=catalogue.email, area=catalogue.taby)
    response = client_for(ops).post(URL, body(), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["linked_tickets"] == 1
    assert data["affected_subscriptions"] == 2
    assert data["services"] == ["email"] and data["areas"] == ["se-ab"]
    assert data["public_message"] == {"en": "E-mail is down in Stockholm."}
    assert data["agent_script"]["sv"] == "Vi känner till felet."
    incident = Incident.objects.get(pk=data["id"])
    assert incident.created_by == ops
    assert IncidentTicketLink.objects.filter(incident=incident).count() == 1


def test_an_unknown_service_code_is_a_400_naming_the_field(catalogue, ops):
    response = client_for(ops).post(URL, body(services=["email", "telegraph"]), format="json")
    assert response.status_code == 400
    assert "services" in response.json()["fields"]
    assert "telegraph" in response.json()["error"]
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("areas", ["atlantis"]),
        ("equipment", ["modem-9000"]),
        ("kind", "apocalypse"),
        ("severity", 9),
        ("public_message", {"de": "Hallo"}),
        ("public_message", ["not", "text"]),
        ("started_at", "yesterday-ish"),
        ("keywords", "not-a-list"),
    ],
)
def test_bad_values_are_a_400_naming_the_field(catalogue, ops, field, value):
    response = client_for(ops).post(URL, body(**{field: value}), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


def test_a_missing_title_is_a_400(catalogue, ops):
    data = body()
    del data["title"]
    response = client_for(ops).post(URL, data, format="json")
    assert response.status_code == 400
    assert "title" in response.json()["fields"]


def test_malformed_json_is_a_400(catalogue, ops):
    response = client_for(ops).post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]


@pytest.mark.parametrize("persona", ["agent", "tech", "alice", "outsider"])
def test_only_ops_may_declare(catalogue, persona, request):
    user = request.getfixturevalue(persona)
    if persona == "alice":
        user = user.user
    response = client_for(user).post(URL, body(), format="json")
    assert response.status_code == 403
    assert not Incident.objects.exists()


def test_anonymous_callers_are_refused(catalogue):
    response = client_for().post(URL, body(), format="json")
    assert response.status_code in (401, 403)


def test_preview_counts_without_declaring(catalogue, ticket_in, ops):
    ticket_in(service=catalogue.email, area=catalogue.solna)
    ticket_in(service=catalogue.email, area=catalogue.hisingen)
    response = client_for(ops).post(URL + "preview/", body(), format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["linked_tickets"] == 1
    assert data["affected_subscriptions"] == 1
    assert data["tickets"][0]["service"] == "email"
    assert not Incident.objects.exists()


def test_preview_refuses_unknown_codes_and_non_ops(catalogue, ops, agent):
    assert client_for(ops).post(URL + "preview/", body(areas=["x"]), format="json").status_code == 400
    assert client_for(agent).post(URL + "preview/", body(), format="json").status_code == 403
