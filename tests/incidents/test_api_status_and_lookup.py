"""GET /api/v1/status/ (public, never internal fields) and /api/v1/lookup/ (staff)."""

from __future__ import annotations

from rest_framework.test import APIClient

from incidents.services import incident_post_update, incident_resolve
from tests.factories import SubscriptionFactory, declare_incident


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_status_is_public_and_shows_public_messages_and_updates(catalogue, ops):
    incident = declare_incident(
        actor=ops,
        public_message={"sv": "E-posten ligger nere", "en": "E-mail is down"},
        description="SECRET internal note",
        agent_script={"en": "SECRET script"},
        workaround={"en": "SECRET steps"},
    ).incident
    incident_post_update(incident=incident, actor=ops, message="Public progress", public=True)
    incident_post_update(incident=incident, actor=ops, message="SECRET internal update", public=False)
    response = client_for().get("/api/v1/status/")
    assert response.status_code == 200
    [shown] = response.json()["incidents"]
    assert shown["public_message"]["sv"] == "E-posten ligger nere"
    assert [u["message"]["en"] for u in shown["updates"]] == ["Public progress"]
    assert "SECRET" not in response.content.decode()
    assert "description" not in shown and "agent_script" not in shown and "workaround" not in shown


def test_status_leaves_out_resolved_incidents(catalogue, ops):
    incident = declare_incident(actor=ops).incident
    incident_resolve(incident=incident, actor=ops)
    assert client_for().get("/api/v1/status/").json()["incidents"] == []


def test_lookup_by_phone_gives_customer_subscriptions_tickets_and_incidents(catalogue, ticket_in, ops, agent):
    incident = declare_incident(
        actor=ops,
        services=[catalogue.email],
        areas=[catalogue.stockholm],
        agent_script={"en": "We know, back within the hour"},
        workaround={"en": "1. Use webmail"},
    ).incident
    ticket = ticket_in(service=catalogue.email, area=catalogue.solna)
    customer = ticket.customer
    phone = customer.phones.first().number
    response = client_for(agent).get("/api/v1/lookup/", {"phone": phone})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["customer"]["number"] == customer.number
    assert [s["service"] for s in data["subscriptions"]] == ["email"]
    assert [t["reference"] for t in data["open_tickets"]] == [ticket.reference]
    [shown] = data["incidents"]
    assert shown["id"] == incident.pk
    assert shown["agent_script"]["en"] == "We know, back within the hour"
    assert shown["workaround"]["en"] == "1. Use webmail"
    assert shown["linked_tickets"] == [ticket.reference]


def test_lookup_finds_incidents_covering_a_subscription_without_a_ticket(catalogue, ops, tech):
    sub = SubscriptionFactory(service=catalogue.broadband, area=catalogue.taby, equipment=catalogue.zyxel)
    SubscriptionFactory(customer=sub.customer, service=catalogue.iptv, area=catalogue.taby)
    known = declare_incident(
        actor=ops, kind="known-issue", title="Modem", equipment=[catalogue.zyxel]
    ).incident
    declare_incident(actor=ops, title="Elsewhere", areas=[catalogue.goteborg])
    data = client_for(tech).get("/api/v1/lookup/", {"customer": sub.customer.number}).json()
    assert [i["id"] for i in data["incidents"]] == [known.pk]
    assert data["incidents"][0]["linked_tickets"] == []


def test_lookup_by_email_is_case_insensitive(catalogue, agent):
    sub = SubscriptionFactory()
    response = client_for(agent).get("/api/v1/lookup/", {"email": sub.customer.email.upper()})
    assert response.json()["customer"]["number"] == sub.customer.number


def test_lookup_without_a_parameter_is_a_400_and_unknown_is_a_404(catalogue, agent):
    assert client_for(agent).get("/api/v1/lookup/").status_code == 400
    response = client_for(agent).get("/api/v1/lookup/", {"phone": "+4600000000"})
    assert response.status_code == 404
    assert response.json()["error"]


def test_lookup_is_for_staff_only(catalogue, alice, outsider):
    number = alice.number
    assert client_for(alice.user).get("/api/v1/lookup/", {"customer": number}).status_code == 403
    assert client_for(outsider).get("/api/v1/lookup/", {"customer": number}).status_code == 403
    assert client_for().get("/api/v1/lookup/", {"customer": number}).status_code in (401, 403)
