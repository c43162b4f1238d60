"""The declare form a person can use under stress: pickers for areas and equipment, services as
boxes, time zones named, one language required, and the declare button enabled by the preview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from incidents.models import Incident
from tests import factories

pytestmark = pytest.mark.postgres

NEW = "/ops/incidents/new/"
PREVIEW = "/ops/incidents/preview/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_services_are_checkboxes_and_every_time_field_names_the_time_zone(catalogue, ops, settings):
    settings.TIME_ZONE = "Europe/Stockholm"
    body = client_for(ops).get(NEW).content.decode()
    assert 'type="checkbox" name="services" value="email"' in body
    # started and expected fixed, each with its zone (CET or CEST, by the season)
    assert body.count('<small class="tz">Time zone: Europe/Stockholm (CE') == 2
    assert "<select" not in body.split('id="scope"')[1].split("</fieldset>")[0]  # no Ctrl-click lists


def test_areas_are_found_by_name_and_show_the_subtree_they_cover(catalogue, ops):
    body = client_for(ops).get("/ops/incidents/pick/areas/", {"q": "stock"}).content.decode()
    assert "Stockholm" in body and "Sweden" in body  # the trail
    assert "covers 2 areas under it" in body  # Solna and Täby
    assert 'hx-get="/ops/incidents/picked/areas/?code=se-ab"' in body
    assert "Hisingen" not in body


def test_areas_are_found_by_postcode_with_or_without_its_space(catalogue, ops):
    factories.AreaFactory(code="se-11122", name="111 22 Stockholm (Norrmalm)", parent=catalogue.stockholm)
    for q in ("111 22", "11122"):
        body = client_for(ops).get("/ops/incidents/pick/areas/", {"q": q}).content.decode()
        assert "Norrmalm" in body, q


def test_equipment_is_searchable_by_vendor_or_model(catalogue, ops):
    body = client_for(ops).get("/ops/incidents/pick/equipment/", {"q": "zyx"}).content.decode()
    assert "VMG8825" in body and "FRITZ" not in body
    body = client_for(ops).get("/ops/incidents/pick/equipment/", {"q": "7590"}).content.decode()
    assert "FRITZ" in body


def test_a_picked_area_is_a_ticked_box_and_asks_the_preview_to_refresh(catalogue, ops):
    response = client_for(ops).get("/ops/incidents/picked/areas/", {"code": "se-ab"})
    body = response.content.decode()
    assert 'name="areas" value="se-ab" checked' in body and "+ 2 areas under it" in body
    assert response["HX-Trigger-After-Settle"] == "scope-changed"
    assert client_for(ops).get("/ops/incidents/picked/areas/", {"code": "atlantis"}).status_code == 404
    assert client_for(ops).get("/ops/incidents/pick/customers/", {"q": "a"}).status_code == 404


def test_the_pickers_are_for_ops(catalogue, agent, alice):
    assert client_for(agent).get("/ops/incidents/pick/areas/", {"q": "s"}).status_code == 403
    assert client_for(alice.user).get("/ops/incidents/picked/areas/", {"code": "se"}).status_code == 403


def test_the_declare_button_starts_disabled_and_the_preview_enables_it(catalogue, ticket_in, ops):
    ticket_in(service=catalogue.email)
    page = client_for(ops).get(NEW).content.decode()
    assert 'id="declare-button" disabled' in page
    fragment = client_for(ops).post(PREVIEW, {"kind": "outage", "services": ["email"]}).content.decode()
    assert "1 open ticket would be linked" in fragment
    assert 'id="declare-action" class="declare-action" hx-swap-oob="true"' in fragment
    assert 'id="declare-button">' in fragment  # enabled


def test_an_empty_scope_previews_with_its_impact_and_a_box_to_confirm_it(catalogue, ticket_in, ops):
    ticket_in()
    fragment = client_for(ops).post(PREVIEW, {"kind": "outage"}).content.decode()
    assert "would affect every customer" in fragment and 'name="affects_everyone"' in fragment
    assert "1 open ticket would be linked" in fragment
    assert 'id="declare-button" disabled' in fragment
    confirmed = client_for(ops).post(PREVIEW, {"kind": "outage", "affects_everyone": "on"}).content.decode()
    assert 'id="declare-button">' in confirmed


def test_the_preview_says_what_declaring_would_refuse(catalogue, ops):
    now = timezone.localtime()
    fragment = (
        client_for(ops)
        .post(
            PREVIEW,
            {
                "kind": "outage",
                "services": ["email"],
                "started_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                "eta": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            },
        )
        .content.decode()
    )
    assert "Expected fixed must be after the start." in fragment
    assert 'id="declare-button" disabled' in fragment


def test_one_language_is_required_and_the_others_fall_back(catalogue, ops):
    response = client_for(ops).post(
        NEW,
        {
            "title": "Mail down",
            "kind": "outage",
            "severity": "2",
            "services": ["email"],
            "language": "fi",
            "public_message": "Sähköposti ei toimi",
            "agent_script": "Tiedämme vian",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    incident = Incident.objects.get()
    assert incident.public_message == {"fi": "Sähköposti ei toimi"}
    assert incident.agent_script == {"fi": "Tiedämme vian"}
    assert incident.public_message_in("sv") == "Sähköposti ei toimi"  # the fallback the form promises


def test_the_title_can_be_given_for_customers_in_their_languages(catalogue, ops):
    response = client_for(ops).post(
        NEW,
        {
            "title": "IMAP front-ends down after failover",
            "title_sv": "Störning i e-posten",
            "title_fi": "Sähköpostin häiriö",
            "kind": "outage",
            "severity": "2",
            "services": ["email"],
            "language": "en",
            "public_message": "E-mail is down",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    incident = Incident.objects.get()
    assert incident.titles == {"sv": "Störning i e-posten", "fi": "Sähköpostin häiriö"}
    assert incident.title_in("fi") == "Sähköpostin häiriö"
    assert incident.title_in("en") == "IMAP front-ends down after failover"  # staff's title, the fallback


def test_the_form_refuses_an_empty_scope_without_the_box_and_keeps_what_was_typed(catalogue, ops):
    data = {
        "title": "Everything down",
        "kind": "outage",
        "severity": "3",
        "language": "en",
        "public_message": "All down",
        "areas": ["se-ab"],
    }
    data.pop("areas")
    response = client_for(ops).post(NEW, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "covers every customer" in body and "All down" in body
    assert not Incident.objects.exists()
    response = client_for(ops).post(NEW, {**data, "affects_everyone": "on"})
    assert response.status_code == 302


def test_picked_areas_survive_a_refused_submission(catalogue, ops):
    response = client_for(ops).post(
        NEW, {"title": "", "kind": "outage", "severity": "2", "language": "en", "areas": ["se-ab"]}
    )
    assert 'name="areas" value="se-ab" checked' in response.content.decode()
