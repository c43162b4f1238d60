"""Bad input to the API gets a clear JSON error, never a 500, and stores nothing."""

from __future__ import annotations

import json

import pytest

from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.core]


def test_an_oversize_body_is_a_413_in_json(client, agent, settings):
    client.force_login(agent)
    body = json.dumps({"subject": "x", "description": "y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    response = client.post("/api/v1/tickets/", body, content_type="application/json")
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]
    assert not Ticket.objects.exists()


def test_a_body_in_a_broken_charset_is_a_400_in_json(client, agent):
    client.force_login(agent)
    response = client.post("/api/v1/tickets/", b'{"subject": "\xff\xfe"}', content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_a_json_list_instead_of_an_object_is_a_400(client, agent):
    client.force_login(agent)
    response = client.post("/api/v1/tickets/", "[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]


def test_anonymous_callers_get_a_json_401_or_403(client):
    response = client.post("/api/v1/tickets/", "{}", content_type="application/json")
    assert response.status_code in (401, 403)
    assert response.json()["error"]


def test_json_nested_deeper_than_the_parser_can_go_is_a_400(client, agent):
    client.force_login(agent)
    response = client.post("/api/v1/tickets/", "[" * 5000 + "]" * 5000, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]


@pytest.mark.parametrize("text", ["a\\u0000b", "a\\ud800b"])
def test_nul_or_a_lone_surrogate_anywhere_in_json_is_a_400_naming_the_field(client, agent, text):
    client.force_login(agent)
    body = '{"customer": "' + text + '", "subject": "s", "description": "d"}'
    response = client.post("/api/v1/tickets/", body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["customer"]
    assert not Ticket.objects.exists()


def test_nul_in_a_nested_json_value_names_its_path(client, ops):
    client.force_login(ops)
    body = '{"title": "t", "public_message": {"sv": "ok", "fi": "a\\u0000"}}'
    response = client.post("/api/v1/incidents/", body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["public_message.fi"]


def test_nul_in_a_form_encoded_api_body_is_a_400(client, agent):
    client.force_login(agent)
    response = client.post("/api/v1/tickets/", {"customer": "a\x00", "subject": "s", "description": "d"})
    assert response.status_code == 400
    assert "customer" in response.json()["fields"]
