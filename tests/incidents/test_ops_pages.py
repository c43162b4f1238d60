"""The ops pages: list, declare (with an htmx preview), detail, update, resolve, link and detach."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from incidents.models import Incident, IncidentTicketLink
from tests.factories import declare_incident


def client_for(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def incident(catalogue, ops):
    return declare_incident(
        actor=ops,
        title="Mail platform down",
        services=[catalogue.email],
        workaround={"en": "1. Open webmail\n2. Log in with your e-mail address"},
    ).incident


def test_staff_see_the_incident_list_and_only_ops_the_declare_button(incident, ops, agent):
    page = client_for(agent).get("/ops/incidents/")
    assert page.status_code == 200
    assert "Mail platform down" in page.content.decode()
    assert "/ops/incidents/new/" not in page.content.decode()
    assert "/ops/incidents/new/" in client_for(ops).get("/ops/incidents/").content.decode()


def test_customers_and_outsiders_cannot_see_incident_pages(incident, alice, outsider):
    for user in (alice.user, outsider):
        assert client_for(user).get("/ops/incidents/").status_code == 403
        assert client_for(user).get(f"/ops/incidents/{incident.pk}/").status_code == 403
    assert client_for().get("/ops/incidents/").status_code == 302  # to the login page


def test_the_detail_page_shows_scope_linked_tickets_reasons_and_numbered_steps(
    catalogue, ticket_in, incident, tech
):
    ticket = ticket_in(service=catalogue.email, subject="Outlook offline")
    body = client_for(tech).get(f"/ops/incidents/{incident.pk}/").content.decode()
    assert ticket.reference in body and "Outlook offline" in body
    # By the ticket's link: "SD-1" alone is also in the search box's "SD-123" placeholder.
    [row] = [tr for tr in body.split("<tr>") if f'href="/desk/tickets/{ticket.reference}/"' in tr]
    why = row.split('<td class="muted">')[1].split("</td>")[0]
    assert why.startswith("service email; opened in the incident")  # the reasons, in order
    assert "automatically" in row
    assert "<li>Open webmail</li>" in body
    assert "Detach" in body


def test_ops_declare_through_the_form(catalogue, ticket_in, ops):
    ticket_in(service=catalogue.email, area=catalogue.solna)
    response = client_for(ops).post(
        "/ops/incidents/new/",
        {
            "title": "E-mail down",
            "kind": "outage",
            "severity": "3",
            "services": ["email"],
            "areas": ["se-ab"],
            "keywords": "outlook, imap",
            "language": "sv",
            "public_message": "E-posten ligger nere",
            "public_message_en": "E-mail is down",
            "agent_script_en": "We know",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.url == f"/ops/incidents/{incident.pk}/"
    assert incident.public_message == {"sv": "E-posten ligger nere", "en": "E-mail is down"}
    assert incident.keywords == ["outlook", "imap"]
    assert incident.severity == 3


def test_the_declare_form_is_prefilled_from_codes_and_refuses_an_empty_message(catalogue, ops):
    page = client_for(ops).get("/ops/incidents/new/?services=email&areas=se-ab")
    assert page.status_code == 200
    body = page.content.decode()
    assert re.search(r'name="services" value="email"[^>]*checked', body)
    assert 'name="areas" value="se-ab" checked' in body
    response = client_for(ops).post(
        "/ops/incidents/new/", {"title": "X", "kind": "outage", "severity": "2", "language": "en"}
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not Incident.objects.exists()


def test_agents_cannot_declare(catalogue, agent):
    assert client_for(agent).get("/ops/incidents/new/").status_code == 403


def test_the_preview_fragment_counts_and_writes_nothing(catalogue, ticket_in, ops):
    ticket = ticket_in(service=catalogue.email, area=catalogue.taby, subject="No mail at all")
    response = client_for(ops).post(
        "/ops/incidents/preview/", {"kind": "outage", "services": ["email"]}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "1 open ticket would be linked" in body
    assert ticket.reference in body
    assert "<html" not in body  # a fragment
    assert not Incident.objects.exists()


def test_the_preview_names_an_unknown_code(catalogue, ops):
    response = client_for(ops).post("/ops/incidents/preview/", {"kind": "outage", "services": ["nope"]})
    assert response.status_code == 200 and "services" in response.content.decode()


def test_ops_post_an_update_and_resolve(incident, ops):
    client = client_for(ops)
    client.post(
        f"/ops/incidents/{incident.pk}/updates/",
        {"message_en": "Found it", "status": "identified", "public": "on"},
    )
    incident.refresh_from_db()
    assert incident.status == "identified"
    client.post(f"/ops/incidents/{incident.pk}/resolve/", {"message_en": "Fixed, sorry"})
    incident.refresh_from_db()
    assert incident.status == "identified"  # asked to confirm first
    client.post(f"/ops/incidents/{incident.pk}/resolve/", {"message_en": "Fixed, sorry", "confirm": "yes"})
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_agents_cannot_update_or_resolve(incident, agent):
    assert client_for(agent).post(f"/ops/incidents/{incident.pk}/resolve/").status_code == 403
    assert (
        client_for(agent).post(f"/ops/incidents/{incident.pk}/updates/", {"message_en": "x"}).status_code
        == 403
    )


def test_an_agent_detaches_a_ticket_from_the_detail_page(catalogue, ticket_in, incident, agent):
    ticket = ticket_in(service=catalogue.email)
    response = client_for(agent).post(
        f"/ops/incidents/{incident.pk}/tickets/{ticket.reference}/detach/", {"reason": "Own router"}
    )
    assert response.status_code == 302
    link = IncidentTicketLink.objects.get(incident=incident, ticket=ticket)
    assert link.detached_by == agent and link.detach_reason == "Own router"


def test_detaching_with_htmx_answers_with_an_event_for_the_fragments(catalogue, ticket_in, incident, tech):
    ticket = ticket_in(service=catalogue.email)
    response = client_for(tech).post(
        f"/ops/incidents/{incident.pk}/tickets/{ticket.reference}/detach/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    assert response["HX-Trigger"] == "incidents-changed"


def test_pages_only_accept_their_methods(incident, ops):
    assert client_for(ops).get(f"/ops/incidents/{incident.pk}/resolve/").status_code == 405
    assert client_for(ops).post("/ops/incidents/").status_code == 405
