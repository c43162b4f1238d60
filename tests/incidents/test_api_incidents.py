"""Reading incidents, posting updates, resolving, and an incident's tickets through the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from incidents.models import IncidentTicketLink
from tests.factories import declare_incident


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def incident(catalogue, ops):
    return declare_incident(
        actor=ops,
        services=[catalogue.email],
        description="Internal: storage cluster B failed over",
        agent_script={"en": "Say we know"},
    ).incident


def test_staff_list_incidents_and_filter_active(incident, agent, ops):
    from incidents.services import incident_resolve

    other = declare_incident(actor=ops, title="Old").incident
    incident_resolve(incident=other, actor=ops)
    data = client_for(agent).get("/api/v1/incidents/?status=active").json()
    assert [i["id"] for i in data["results"]] == [incident.pk]
    assert data["results"][0]["services"] == ["email"]
    assert client_for(agent).get("/api/v1/incidents/?status=nope").status_code == 400


def test_customers_and_outsiders_cannot_read_incidents(incident, alice, outsider):
    assert client_for(alice.user).get("/api/v1/incidents/").status_code == 403
    assert client_for(outsider).get(f"/api/v1/incidents/{incident.pk}/").status_code == 403
    assert client_for().get("/api/v1/incidents/").status_code in (401, 403)


def test_detail_shows_updates(incident, tech, ops):
    client_for(ops).post(
        f"/api/v1/incidents/{incident.pk}/updates/",
        {"message": "Found it", "status": "identified"},
        format="json",
    )
    data = client_for(tech).get(f"/api/v1/incidents/{incident.pk}/").json()
    assert data["status"] == "identified"
    assert data["updates"][0]["message"] == {"en": "Found it"}
    assert client_for(tech).get("/api/v1/incidents/999999/").status_code == 404


def test_ops_post_updates_and_others_cannot(incident, ops, agent):
    url = f"/api/v1/incidents/{incident.pk}/updates/"
    response = client_for(ops).post(url, {"message": {"sv": "Vi felsöker"}, "public": True}, format="json")
    assert response.status_code == 201
    assert response.json()["author"] == "olga"
    assert client_for(agent).post(url, {"message": "x"}, format="json").status_code == 403
    assert client_for(ops).post(url, {"message": "x", "status": "resolved"}, format="json").status_code == 400
    assert client_for(ops).post(url, {}, format="json").json()["fields"].keys() == {"message"}


def test_ops_resolve_once(incident, ops):
    url = f"/api/v1/incidents/{incident.pk}/resolve/"
    response = client_for(ops).post(url, {"message": "Fixed. We are sorry."}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    again = client_for(ops).post(url, {}, format="json")
    assert again.status_code == 400 and "status" in again.json()["fields"]


def test_an_incidents_tickets_are_listed_with_reasons_in_constant_queries(
    catalogue, ticket_in, incident, agent, django_assert_max_num_queries
):
    for _ in range(3):
        ticket_in(service=catalogue.email)
    client = client_for(agent)
    client.get(f"/api/v1/incidents/{incident.pk}/tickets/")  # warm up auth caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        data = client.get(f"/api/v1/incidents/{incident.pk}/tickets/").json()
    assert len(data["results"]) == 3 and data["next"] is None
    assert data["results"][0]["reasons"]["service"] == ["email"]
    assert data["results"][0]["ticket"]["reference"].startswith("SD-")
    for _ in range(7):
        ticket_in(service=catalogue.email)
    with django_assert_max_num_queries(len(few.captured_queries)):
        data = client.get(f"/api/v1/incidents/{incident.pk}/tickets/").json()
    assert len(data["results"]) == 10
    # Newest tickets first, by cursor: pages of 4 from the next links.
    pages = [client.get(f"/api/v1/incidents/{incident.pk}/tickets/", {"page_size": 4}).json()]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())
    assert [len(p["results"]) for p in pages] == [4, 4, 2]
    listed = [r["ticket"]["reference"] for p in pages for r in p["results"]]
    assert listed == [r["ticket"]["reference"] for r in data["results"]]
    assert [int(ref.removeprefix("SD-")) for ref in listed] == sorted(
        (int(ref.removeprefix("SD-")) for ref in listed), reverse=True
    )


def test_agents_link_a_ticket_by_reference_and_detach_it(catalogue, ticket_in, incident, agent):
    ticket = ticket_in(service=catalogue.iptv)
    client = client_for(agent)
    response = client.post(
        f"/api/v1/incidents/{incident.pk}/tickets/", {"reference": ticket.reference}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["origin"] == "agent" and response.json()["linked_by"] == "anna"
    response = client.delete(f"/api/v1/incidents/{incident.pk}/tickets/{ticket.reference}/?reason=Not+this")
    assert response.status_code == 200
    assert response.json()["detach_reason"] == "Not this"
    assert IncidentTicketLink.objects.get(incident=incident, ticket=ticket).detached_by == agent


def test_detach_takes_the_reason_from_the_body(catalogue, ticket_in, incident, tech):
    ticket = ticket_in(service=catalogue.email)
    response = client_for(tech).delete(
        f"/api/v1/incidents/{incident.pk}/tickets/{ticket.reference}/",
        {"reason": "Own router"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["detach_reason"] == "Own router"


def test_linking_an_unknown_reference_is_a_400_naming_it(incident, agent):
    response = client_for(agent).post(
        f"/api/v1/incidents/{incident.pk}/tickets/", {"reference": "SD-0"}, format="json"
    )
    assert response.status_code == 400
    assert "reference" in response.json()["fields"]


def test_detaching_an_unlinked_or_unknown_ticket_is_a_404(catalogue, ticket_in, incident, agent):
    ticket = ticket_in(service=catalogue.iptv)
    client = client_for(agent)
    assert client.delete(f"/api/v1/incidents/{incident.pk}/tickets/{ticket.reference}/").status_code == 404
    assert client.delete(f"/api/v1/incidents/{incident.pk}/tickets/SD-999999/").status_code == 404


def test_customers_cannot_link_or_detach(catalogue, ticket_in, incident, alice):
    ticket = ticket_in(service=catalogue.email)
    client = client_for(alice.user)
    assert (
        client.post(f"/api/v1/incidents/{incident.pk}/tickets/", {"reference": ticket.reference}).status_code
        == 403
    )
    assert client.delete(f"/api/v1/incidents/{incident.pk}/tickets/{ticket.reference}/").status_code == 403
    assert client.get(f"/api/v1/incidents/{incident.pk}/tickets/").status_code == 403


def test_the_openapi_schema_still_generates(db):
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/incidents/" in paths
    assert "/api/v1/incidents/{id}/tickets/{reference}/" in paths
    assert "/api/v1/lookup/" in paths


def test_ops_widen_and_narrow_the_scope(catalogue, ticket_in, ops):
    solna = ticket_in(service=catalogue.email, area=catalogue.solna)
    hisingen = ticket_in(service=catalogue.email, area=catalogue.hisingen)
    incident = declare_incident(actor=ops, services=[catalogue.email], areas=[catalogue.stockholm]).incident
    url = f"/api/v1/incidents/{incident.pk}/scope/"
    wider = client_for(ops).patch(url, {"areas": ["se"]}, format="json")
    assert wider.status_code == 200, wider.content
    assert wider.json()["linked_tickets"] == 1 and wider.json()["areas"] == ["se"]
    assert wider.json()["services"] == ["email"]  # not given, not changed
    narrower = client_for(ops).patch(url, {"areas": ["se-ab-solna"]}, format="json")
    assert narrower.json()["detached_tickets"] == 1
    attached = IncidentTicketLink.objects.filter(incident=incident, detached_at__isnull=True)
    assert list(attached.values_list("ticket_id", flat=True)) == [solna.pk]
    assert (
        IncidentTicketLink.objects.get(incident=incident, ticket=hisingen).detach_reason == "scope narrowed"
    )


def test_scope_changes_refuse_unknown_codes_non_ops_and_resolved_incidents(incident, ops, agent):
    from incidents.services import incident_resolve

    url = f"/api/v1/incidents/{incident.pk}/scope/"
    bad = client_for(ops).patch(url, {"equipment": ["nope"]}, format="json")
    assert bad.status_code == 400 and "equipment" in bad.json()["fields"]
    assert client_for(agent).patch(url, {"areas": []}, format="json").status_code == 403
    incident_resolve(incident=incident, actor=ops)
    assert client_for(ops).patch(url, {"areas": []}, format="json").status_code == 400
