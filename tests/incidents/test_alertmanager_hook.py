"""POST /api/v1/hooks/alertmanager/: Alertmanager's payload declares, updates and resolves incidents."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest
from rest_framework.test import APIClient

from incidents import monitoring
from incidents.models import (
    Incident,
    IncidentTicketLink,
    IncidentUpdate,
    MonitoringAlertGroup,
    MonitoringLabelMap,
)
from tests.incidents.alertmanager import alert, payload

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
URL = "/api/v1/hooks/alertmanager/"


@pytest.fixture
def token(db) -> str:
    _receiver, token = monitoring.receiver_create(name="alertmanager-prod")
    return token


@pytest.fixture
def mapping(catalogue):
    """``service`` labels carry our codes; ``site`` labels name data centres, translated to areas."""
    MonitoringLabelMap.objects.create(label="service", value="", dimension="service")
    MonitoringLabelMap.objects.create(label="site", value="sthlm-dc1", dimension="area", code="se-ab")
    MonitoringLabelMap.objects.create(label="site", value="gbg-dc2", dimension="area", code="se-o")
    MonitoringLabelMap.objects.create(label="cpe", value="", dimension="equipment")
    return catalogue


def post(body, token: str | None, **headers):
    client = APIClient()
    if token is not None:
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {token}")
    return client.post(URL, json.dumps(body), content_type="application/json", **headers)


def test_a_firing_group_declares_one_monitoring_incident_scoped_by_its_labels(mapping, ticket_in, token):
    in_stockholm = ticket_in(service=mapping.email, area=mapping.solna)
    elsewhere = ticket_in(service=mapping.email, area=mapping.hisingen)
    body = payload(alert(service="email", site="sthlm-dc1", severity="critical"))
    response = post(body, token)
    assert response.status_code == 200, response.content
    assert response.json()["action"] == "declared" and response.json()["needs_scope"] is False
    incident = Incident.objects.get(pk=response.json()["incident"])
    assert incident.source == Incident.Source.MONITORING
    assert incident.external_key.startswith("alertmanager:")
    assert incident.title == "Mail platform does not answer"
    assert (incident.kind, incident.severity) == ("outage", 3)
    assert incident.started_at == datetime(2026, 11, 29, 8, 0, 0, 123456, tzinfo=timezone.utc)
    assert [s.code for s in incident.services.all()] == ["email"]
    assert [a.code for a in incident.areas.all()] == ["se-ab"]
    assert set(incident.public_message) == {"sv", "fi", "en"}  # our own text, in every language
    linked = set(IncidentTicketLink.objects.filter(incident=incident).values_list("ticket_id", flat=True))
    assert linked == {in_stockholm.pk} and elsewhere.pk not in linked


def test_redelivering_the_same_payload_changes_nothing(mapping, ticket_in, token):
    ticket_in(service=mapping.email, area=mapping.solna)
    body = payload(alert(service="email", site="sthlm-dc1"))
    first = post(body, token).json()

    def state():
        return (
            list(Incident.objects.values_list("id", "status", "updated_at", "needs_scope")),
            list(IncidentUpdate.objects.values_list("id", flat=True)),
            list(IncidentTicketLink.objects.values_list("id", "detached_at")),
            list(MonitoringAlertGroup.objects.values_list("id", "digest", "received_at")),
        )

    before = state()
    reordered = copy.deepcopy(body)
    reordered["alerts"].reverse()
    for again in (body, body, reordered):
        response = post(again, token)
        assert response.status_code == 200
        assert response.json() == {**first, "action": "unchanged"}
    assert state() == before


def test_a_changed_group_updates_its_incident_and_widens_the_scope(mapping, ticket_in, token):
    in_goteborg = ticket_in(service=mapping.email, area=mapping.hisingen)
    first = post(payload(alert(service="email", site="sthlm-dc1")), token).json()
    body = payload(alert(service="email", site="sthlm-dc1"), alert(service="email", site="gbg-dc2"))
    second = post(body, token).json()
    assert second == {"incident": first["incident"], "action": "updated", "needs_scope": False}
    incident = Incident.objects.get()
    assert sorted(a.code for a in incident.areas.all()) == ["se-ab", "se-o"]
    assert IncidentTicketLink.objects.filter(incident=incident, ticket=in_goteborg).exists()
    note = IncidentUpdate.objects.get(incident=incident)
    assert note.public is False and "2" in note.message_in("en")


def test_a_resolved_group_resolves_its_incident_once(mapping, token, settings):
    settings.MONITORING_RESOLVED_ACTION = "resolve"
    post(payload(alert(service="email", site="sthlm-dc1")), token)
    resolved = payload(alert(service="email", site="sthlm-dc1", status="resolved"))
    assert post(resolved, token).json()["action"] == "resolved"
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.RESOLVED and incident.resolved_at is not None
    assert incident.updates.get(status="resolved").message_in("sv")  # a closing message in Swedish too
    assert post(resolved, token).json()["action"] == "unchanged"
    assert Incident.objects.get().updated_at == incident.updated_at


def test_a_resolved_group_moves_its_incident_to_monitoring_when_ops_want_to_confirm(mapping, token, settings):
    settings.MONITORING_RESOLVED_ACTION = "monitoring"
    post(payload(alert(service="email", site="sthlm-dc1")), token)
    resolved = payload(alert(service="email", site="sthlm-dc1", status="resolved"))
    assert post(resolved, token).json()["action"] == "monitoring"
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.MONITORING and incident.resolved_at is None
    assert incident.updates.get(status="monitoring").public is False
    # It fires again: back to investigating, still the same incident.
    again = payload(alert(service="email", site="sthlm-dc1", starts_at="2026-11-29T11:00:00Z"))
    assert post(again, token).json() == {"incident": incident.pk, "action": "updated", "needs_scope": False}
    assert Incident.objects.get().status == Incident.Status.INVESTIGATING


def test_a_group_firing_again_after_resolution_declares_a_new_incident(mapping, token):
    first = post(payload(alert(service="email")), token).json()
    post(payload(alert(service="email", status="resolved")), token)
    later = post(payload(alert(service="email", starts_at="2026-11-30T08:00:00Z")), token).json()
    assert later["action"] == "declared" and later["incident"] != first["incident"]
    assert Incident.objects.get(pk=first["incident"]).status == Incident.Status.RESOLVED
    assert MonitoringAlertGroup.objects.get().incident_id == later["incident"]


def test_the_same_group_key_from_two_receivers_gives_two_incidents(mapping, token):
    _other, other_token = monitoring.receiver_create(name="alertmanager-lab")
    a = post(payload(alert(service="email")), token).json()
    b = post(payload(alert(service="email")), other_token).json()
    assert a["incident"] != b["incident"] and b["action"] == "declared"


def test_labels_that_map_to_nothing_give_a_held_incident_that_links_and_tells_no_one(
    mapping, ticket_in, token, ops
):
    old = ticket_in(service=mapping.email, area=mapping.solna)
    response = post(payload(alert(service="email", site="kiruna-dc9")), token)
    assert response.status_code == 200
    assert response.json()["needs_scope"] is True
    incident = Incident.objects.get()
    assert incident.needs_scope and "site=kiruna-dc9" in incident.description
    assert MonitoringAlertGroup.objects.get().unmapped == {"site": ["kiruna-dc9"]}
    # Held: its scope says only "email", but nothing is linked, now or later, and the public and
    # the caller look-up do not see it.
    new = ticket_in(service=mapping.email, area=mapping.hisingen)
    assert not IncidentTicketLink.objects.filter(incident=incident).exists()
    assert APIClient().get("/api/v1/status/").json()["incidents"] == []
    ops_client = APIClient()
    ops_client.force_authenticate(ops)
    lookup = ops_client.get("/api/v1/lookup/", {"customer": old.customer.number}).json()
    assert lookup["incidents"] == []
    # Ops place it: matching starts.
    confirmed = ops_client.post(
        f"/api/v1/incidents/{incident.pk}/scope/confirm/",
        {"services": ["email"], "areas": ["se-ab"]},
        format="json",
    )
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["needs_scope"] is False and confirmed.json()["linked_tickets"] == 1
    assert set(IncidentTicketLink.objects.values_list("ticket_id", flat=True)) == {old.pk}
    assert new.pk not in IncidentTicketLink.objects.values_list("ticket_id", flat=True)


def test_an_alert_with_no_scope_label_is_never_dropped_and_never_covers_everyone(catalogue, ticket_in, token):
    ticket_in(service=catalogue.broadband)
    response = post(payload(alert(instance="mx1:993", job="imap")), token)
    assert response.json()["action"] == "declared" and response.json()["needs_scope"] is True
    incident = Incident.objects.get()
    assert not incident.services.exists() and not incident.areas.exists()
    assert IncidentTicketLink.objects.count() == 0
    assert MonitoringAlertGroup.objects.get().unmapped == {"": ["MailDown"]}


def test_ops_confirm_an_empty_scope_only_saying_it_affects_everyone(catalogue, token, ops, agent):
    incident_id = post(payload(alert()), token).json()["incident"]
    url = f"/api/v1/incidents/{incident_id}/scope/confirm/"
    client = APIClient()
    client.force_authenticate(agent)
    assert client.post(url, {"services": ["email"]}, format="json").status_code == 403
    client.force_authenticate(ops)
    refused = client.post(url, {}, format="json")
    assert refused.status_code == 400 and "services" in refused.json()["fields"]
    assert client.post(url, {"affects_everyone": True}, format="json").status_code == 200
    again = client.post(url, {"services": ["email"]}, format="json")
    assert again.status_code == 400 and "needs_scope" in again.json()["fields"]


# --- authentication --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Token abc", "Bearer", "Bearer a b"],
    ids=["missing", "wrong", "other-scheme", "empty", "two-words"],
)
def test_a_missing_or_wrong_token_gets_401_and_changes_nothing(catalogue, token, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = post(payload(alert()), None, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Incident.objects.count() == 0


def test_a_deactivated_receivers_token_gets_401(catalogue, token):
    from incidents.models import MonitoringReceiver

    MonitoringReceiver.objects.update(active=False)
    assert post(payload(alert()), token).status_code == 401


def test_only_the_tokens_hash_is_stored(token):
    from incidents.models import MonitoringReceiver

    receiver = MonitoringReceiver.objects.get()
    assert token not in (receiver.token_hash, receiver.token_hint)
    assert receiver.token_hash == monitoring.token_hash(token) and token.startswith(receiver.token_hint)


# --- malformed payloads ----------------------------------------------------------------------------


def _without(key):
    body = payload(alert())
    del body[key]
    return body


def _alert_with(**changes):
    body = payload(alert())
    body["alerts"][0].update(changes)
    return body


@pytest.mark.parametrize(
    "body,field",
    [
        ({**payload(alert()), "version": "3"}, "version"),
        (_without("groupKey"), "groupKey"),
        ({**payload(alert()), "status": "burning"}, "status"),
        ({**payload(alert()), "alerts": []}, "alerts"),
        ({**payload(alert()), "alerts": "x"}, "alerts"),
        ({**payload(alert()), "truncatedAlerts": -1}, "truncatedAlerts"),
        (_alert_with(startsAt="yesterday"), "alerts[0].startsAt"),
        (_alert_with(startsAt="2026-11-29T08:00:00"), "alerts[0].startsAt"),
        (_alert_with(labels=["a"]), "alerts[0].labels"),
        (_alert_with(labels={"a": 1}), "alerts[0].labels.a"),
        (_alert_with(status=None), "alerts[0].status"),
        ([payload(alert())], "body"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_malformed_payload_gets_400_naming_what_is_wrong(catalogue, token, body, field):
    response = post(body, token)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert response.json()["error"].startswith(field)
    assert Incident.objects.count() == 0


def test_a_body_that_is_not_json_gets_400(token):
    response = APIClient().post(
        URL, "{not json", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 400 and "JSON" in response.json()["error"]


def test_the_hook_is_in_the_openapi_schema(db):
    paths = APIClient().get("/api/schema/?format=json").json()["paths"]
    assert "/api/v1/hooks/alertmanager/" in paths
    assert "/api/v1/incidents/{id}/scope/confirm/" in paths


def test_a_new_receiver_token_from_the_command_line_works(catalogue):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("monitoring_token", "alertmanager-ci", stdout=out)
    token = out.getvalue().strip()
    assert post(payload(alert()), token).status_code == 200
    call_command("monitoring_token", "alertmanager-ci", stdout=StringIO())  # rotated
    assert post(payload(alert()), token).status_code == 401


def test_admin_shows_a_new_receivers_token_once(client, admin_user, catalogue):
    client.force_login(admin_user)
    response = client.post(
        "/admin/incidents/monitoringreceiver/add/", {"name": "am-admin", "active": "on"}, follow=True
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"] if "<code>" in str(m)]
    assert len(shown) == 1
    token = shown[0].split("<code>")[1].split("</code>")[0]
    assert post(payload(alert()), token).status_code == 200
    assert token not in client.get("/admin/incidents/monitoringreceiver/").content.decode()
