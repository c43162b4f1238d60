"""The public status page: kind words, the visitor's language, never internal fields."""

from __future__ import annotations

from django.test import Client

from incidents.services import incident_post_update, incident_resolve
from tests.factories import declare_incident


def test_anyone_sees_active_incidents_with_public_updates_and_no_internals(catalogue, ops):
    incident = declare_incident(
        actor=ops,
        title="E-mail",
        public_message={"sv": "E-posten fungerar inte just nu", "en": "E-mail is not working"},
        description="SECRET root cause",
        agent_script={"sv": "SECRET script"},
    ).incident
    incident_post_update(incident=incident, actor=ops, message={"sv": "Vi har hittat felet"})
    incident_post_update(incident=incident, actor=ops, message={"sv": "SECRET note"}, public=False)
    response = Client().get("/status/", HTTP_ACCEPT_LANGUAGE="sv")
    body = response.content.decode()
    assert response.status_code == 200
    assert "E-posten fungerar inte just nu" in body
    assert "Vi har hittat felet" in body
    assert "SECRET" not in body


def test_recently_resolved_incidents_come_with_an_apology(catalogue, ops):
    incident = declare_incident(actor=ops, title="Mail outage").incident
    incident_resolve(incident=incident, actor=ops)
    body = Client().get("/status/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Mail outage" in body
    assert "sorry" in body
    assert "Everything is working as it should." in body
