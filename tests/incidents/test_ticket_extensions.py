"""What incidents add to the tickets app's pages and API goes through tickets' extension point: the
ticket pages, queue and API show it, and with nothing registered the tickets pages still work."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.services import incident_detach_ticket, incident_resolve
from tests.factories import declare_incident
from tickets.extensions import TicketExtensions


@pytest.fixture
def outage(catalogue, ops):
    return declare_incident(actor=ops, title="E-mail down in Sweden", services=[catalogue.email]).incident


def test_agent_ticket_page_shows_the_incident_history_with_who_detached(
    client, agent, ops, catalogue, ticket_in, outage
):
    ticket = ticket_in(service=catalogue.email, subject="No mail")
    incident_detach_ticket(incident=outage, ticket=ticket, actor=ops, reason="customer's own server")
    client.force_login(agent)
    body = client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()
    assert "Incident history" in body
    assert reverse("incidents:detail", args=[outage.pk]) in body
    assert "customer&#x27;s own server" in body
    assert reverse("incidents:for_ticket", args=[ticket.reference]) in body  # the live incident panel


def test_agent_ticket_page_without_links_has_no_history_card(client, agent, catalogue, ticket_in):
    ticket = ticket_in(service=catalogue.iptv)
    client.force_login(agent)
    body = client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()
    assert "Incident history" not in body


def test_customer_sees_the_public_message_and_then_that_it_is_fixed(
    client, catalogue, ticket_in, outage, ops
):
    ticket = ticket_in(service=catalogue.email)
    ticket.customer.user = _customer_login(ticket.customer)
    ticket.customer.save()
    client.force_login(ticket.customer.user)
    url = reverse("tickets:my_ticket", args=[ticket.reference])
    body = client.get(url).content.decode()
    assert "We are working on it." not in body  # the customer's language is Swedish
    assert "Vi arbetar på det." in body
    incident_resolve(incident=outage, actor=ops, message={"sv": "Felet är åtgärdat."})
    body = client.get(url).content.decode()
    assert "Felet är åtgärdat." in body


def test_queue_rows_flag_tickets_explained_by_an_active_incident(client, agent, catalogue, ticket_in, outage):
    explained = ticket_in(service=catalogue.email, subject="Mail is down")
    other = ticket_in(service=catalogue.iptv, subject="TV freezes")
    client.force_login(agent)
    body = client.get(reverse("tickets:queue")).content.decode()
    row = {t: body.split(t.subject)[0].rsplit("<tr", 1)[1] for t in (explained, other)}
    assert "Explained by an active incident" in row[explained]
    assert "Explained by an active incident" not in row[other]


def test_ticket_api_lists_attached_incidents_and_filters_by_incident(
    client, agent, catalogue, ticket_in, outage
):
    explained = ticket_in(service=catalogue.email)
    ticket_in(service=catalogue.iptv)
    client.force_login(agent)
    one = client.get(f"/api/v1/tickets/{explained.reference}/").json()
    assert [(i["id"], i["title"], i["origin"]) for i in one["incidents"]] == [
        (outage.pk, "E-mail down in Sweden", "auto")
    ]
    listed = client.get(f"/api/v1/tickets/?incident={outage.pk}").json()["results"]
    assert [t["reference"] for t in listed] == [explained.reference]
    bad = client.get("/api/v1/tickets/?incident=²")
    assert bad.status_code == 400
    assert bad.json()["fields"] == {"incident": [bad.json()["error"]]}


def test_openapi_schema_documents_what_incidents_add_to_tickets(client, agent):
    client.force_login(agent)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "LinkedIncident" in schema


def test_ticket_pages_render_with_nothing_registered(client, agent, catalogue, ticket_in, monkeypatch):
    from tickets import extensions as module

    monkeypatch.setattr(module, "extensions", TicketExtensions())
    for name in ("tickets.selectors", "tickets.apis", "tickets.templatetags.ticket_panels"):
        monkeypatch.setattr(f"{name}.extensions", module.extensions)
    ticket = ticket_in(service=catalogue.email)
    client.force_login(agent)
    assert client.get(reverse("tickets:detail", args=[ticket.reference])).status_code == 200
    assert client.get(reverse("tickets:queue")).status_code == 200
    payload = client.get(f"/api/v1/tickets/{ticket.reference}/").json()
    assert "incidents" not in payload


def _customer_login(customer):
    from core import roles
    from tests.conftest import make_user

    return make_user(f"cust{customer.number}", roles.CUSTOMER)
