"""Idempotency-Key on the API's creates (tickets, comments, declarations, incident updates): a retry
with the same key and body replays the first response and creates nothing; another body is a 422."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.idempotency import purge_expired
from core.models import IdempotencyKey
from incidents.models import Incident
from tests import factories
from tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.core]


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def ticket_body(customer, **extra) -> dict:
    return {"customer": customer.number, "subject": "No signal", "description": "TV is black", **extra}


def test_a_retried_ticket_open_with_the_same_key_replays_the_first_response(agent, alice):
    client = api(agent)
    first = client.post("/api/v1/tickets/", ticket_body(alice), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/tickets/", ticket_body(alice), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Ticket.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422_and_creates_nothing(agent, alice):
    client = api(agent)
    client.post("/api/v1/tickets/", ticket_body(alice), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = client.post(
        "/api/v1/tickets/", ticket_body(alice, subject="Other"), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"Idempotency-Key": [response.json()["error"]]}
    assert Ticket.objects.count() == 1


def test_without_a_key_every_post_creates(agent, alice):
    client = api(agent)
    client.post("/api/v1/tickets/", ticket_body(alice), format="json")
    client.post("/api/v1/tickets/", ticket_body(alice), format="json")
    assert Ticket.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_a_refused_request_keeps_no_key_so_the_fixed_retry_runs(agent, alice):
    client = api(agent)
    bad = client.post(
        "/api/v1/tickets/", {"customer": alice.number}, format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    good = client.post("/api/v1/tickets/", ticket_body(alice), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert good.status_code == 201
    assert Ticket.objects.count() == 1


def test_keys_belong_to_their_user(agent, tech, alice):
    api(agent).post("/api/v1/tickets/", ticket_body(alice), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    response = api(tech).post(
        "/api/v1/tickets/", ticket_body(alice), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Ticket.objects.count() == 2


def test_an_expired_key_runs_again_and_the_purge_deletes_old_keys(agent, alice):
    client = api(agent)
    client.post("/api/v1/tickets/", ticket_body(alice), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    row = IdempotencyKey.objects.get()
    assert row.expires_at - row.created_at == timedelta(days=1)
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.post("/api/v1/tickets/", ticket_body(alice), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert Ticket.objects.count() == 2
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert purge_expired() == 1
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "nyckel-å", "tab\there"])
def test_a_malformed_key_is_a_400_naming_the_header(agent, alice, key):
    response = api(agent).post(
        "/api/v1/tickets/", ticket_body(alice), format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]
    assert not Ticket.objects.exists()


def test_a_customer_retrying_a_comment_posts_it_once(alice):
    ticket = factories.open_ticket(customer=alice)
    client = api(alice.user)
    url = f"/api/v1/tickets/{ticket.reference}/comments/"
    for _ in range(3):
        response = client.post(url, {"body": "Still broken"}, format="json", HTTP_IDEMPOTENCY_KEY="c-1")
        assert response.status_code == 201
    assert TicketEvent.objects.filter(ticket=ticket, body="Still broken").count() == 1


def test_a_retried_declaration_declares_once(ops):
    factories.ServiceFactory(code="email")
    body = {
        "title": "Mail down",
        "kind": "outage",
        "severity": 3,
        "services": ["email"],
        "public_message": "Down.",
    }
    client = api(ops)
    first = client.post("/api/v1/incidents/", body, format="json", HTTP_IDEMPOTENCY_KEY="d-1")
    again = client.post("/api/v1/incidents/", body, format="json", HTTP_IDEMPOTENCY_KEY="d-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Incident.objects.count() == 1


def test_the_schema_documents_the_header(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "Idempotency-Key" in schema


def test_a_retried_form_encoded_ticket_open_is_replayed_too(agent, alice):
    # Form bodies are parsed before the view (the hostile-input middleware reads them): the key's
    # fingerprint is then taken from the parsed fields.
    client = api(agent)
    body = ticket_body(alice)
    first = client.post("/api/v1/tickets/", body, format="multipart", HTTP_IDEMPOTENCY_KEY="m-1")
    again = client.post("/api/v1/tickets/", body, format="multipart", HTTP_IDEMPOTENCY_KEY="m-1")
    other = client.post(
        "/api/v1/tickets/", {**body, "subject": "x"}, format="multipart", HTTP_IDEMPOTENCY_KEY="m-1"
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert Ticket.objects.count() == 1
