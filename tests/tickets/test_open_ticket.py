"""Opening a ticket: routed by category, filled from the subscription or the words, confirmed with a reference."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories
from tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.core]


@pytest.mark.parametrize(
    "category,queue",
    [("technical", "first-line"), ("billing", "billing"), ("sales", "sales"), ("other", "first-line")],
)
def test_tickets_are_routed_to_their_categorys_queue(category, queue):
    assert factories.open_ticket(category=category).queue == queue


def test_a_ticket_takes_service_area_and_equipment_from_the_only_subscription():
    sub = factories.SubscriptionFactory()
    ticket = factories.open_ticket(customer=sub.customer)
    assert (ticket.subscription, ticket.service, ticket.area, ticket.equipment) == (
        sub,
        sub.service,
        sub.area,
        sub.equipment,
    )
    assert ticket.service_source == "subscription"


def test_with_several_subscriptions_the_words_pick_the_service_and_its_subscription():
    email = factories.ServiceFactory(code="email", name="E-mail")
    fibre = factories.SubscriptionFactory()
    mail_sub = factories.SubscriptionFactory(customer=fibre.customer, service=email)
    ticket = factories.open_ticket(
        customer=fibre.customer, subject="Sähköposti ei toimi", description="En saa postia."
    )
    assert ticket.service == email
    assert ticket.service_source == "text"
    assert ticket.subscription == mail_sub
    assert ticket.area == mail_sub.area


def test_the_service_stays_unknown_when_nothing_says_it():
    customer = factories.CustomerFactory()
    ticket = factories.open_ticket(customer=customer, subject="Question", description="Hello there")
    assert ticket.service is None and ticket.service_source == ""


def test_opening_writes_a_public_opened_entry_on_the_timeline(agent):
    ticket = factories.open_ticket(actor=agent)
    event = ticket.events.get()
    assert (event.kind, event.public, event.actor) == (TicketEvent.Kind.OPENED, True, agent)


def test_customer_writes_through_the_web_form_and_sees_the_reference(client, alice):
    client.force_login(alice.user)
    response = client.post(
        reverse("tickets:new_ticket"),
        {
            "category": "technical",
            "subject": "Slow <b>internet</b>",
            "description": "<script>alert(1)</script> since Monday",
        },
        follow=True,
    )
    ticket = Ticket.objects.get(customer=alice)
    page = response.content.decode()
    assert ticket.reference in page
    assert ticket.channel == "web"
    assert "<script>alert(1)</script>" not in page  # stored as typed, escaped when shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_api_opens_a_ticket_with_natural_keys_and_no_incidents_when_none_covers_it(client, agent):
    sub = factories.SubscriptionFactory()
    factories.ServiceFactory(code="email", name="E-mail")
    client.force_login(agent)
    response = client.post(
        "/api/v1/tickets/",
        {
            "customer": sub.customer.number,
            "subject": "Mail down",
            "description": "Cannot send",
            "category": "technical",
            "channel": "phone",
            "service": "email",
            "area": sub.area.code,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"].startswith("SD-")
    assert body["status"] == "new"
    assert body["service"] == "email" and body["area"] == sub.area.code
    assert body["incidents"] == []


def test_a_ticket_opened_under_a_covering_incident_lists_it_in_the_api(client, agent, ops):
    sub = factories.SubscriptionFactory()
    elsewhere = factories.AreaFactory(code="se-kiruna", name="Kiruna")
    outage = factories.declare_incident(
        actor=ops, title="Fibre down", services=[sub.service], areas=[sub.area]
    ).incident
    factories.declare_incident(
        actor=ops, title="Fibre down in Kiruna", services=[sub.service], areas=[elsewhere]
    )
    client.force_login(agent)

    response = client.post(
        "/api/v1/tickets/",
        {"customer": sub.customer.number, "subject": "No internet", "description": "Since lunch."},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    [linked] = response.json()["incidents"]  # the covering one only, matched inline
    assert {k: linked[k] for k in ("id", "title", "kind", "status", "origin")} == {
        "id": outage.pk,
        "title": "Fibre down",
        "kind": "outage",
        "status": "investigating",
        "origin": "auto",
    }
    assert linked["score"] > 0 and linked["reasons"]
    detail = client.get(f"/api/v1/tickets/{response.json()['reference']}/").json()
    assert detail["incidents"] == response.json()["incidents"]


def test_staff_filter_the_ticket_list_by_status_queue_and_incident(client, agent, ops):
    from incidents.services import incident_detach_ticket
    from tickets.services import ticket_set_status

    sub = factories.SubscriptionFactory()
    other = factories.SubscriptionFactory(area=factories.AreaFactory(code="se-kiruna", name="Kiruna"))
    covered = factories.open_ticket(customer=sub.customer, subject="No internet")
    bill = factories.open_ticket(customer=other.customer, category="billing", subject="Invoice")
    done = factories.open_ticket(customer=other.customer, subject="Slow")
    ticket_set_status(ticket=done, status=Ticket.Status.RESOLVED, actor=agent)
    outage = factories.declare_incident(actor=ops, services=[sub.service], areas=[sub.area]).incident
    detached = factories.open_ticket(customer=sub.customer, subject="Router blinks")
    incident_detach_ticket(incident=outage, ticket=detached, actor=agent, reason="Not this")
    client.force_login(agent)

    def listed(query: str) -> list[str]:
        response = client.get(f"/api/v1/tickets/?{query}")
        assert response.status_code == 200, response.content
        return [t["reference"] for t in response.json()["results"]]

    assert listed("") == [detached.reference, done.reference, bill.reference, covered.reference]
    assert listed("status=new") == [detached.reference, bill.reference, covered.reference]
    assert listed("status=resolved,closed") == [done.reference]
    assert listed("queue=billing") == [bill.reference]
    assert listed(f"incident={outage.pk}") == [covered.reference]  # attached links only
    assert listed(f"status=new&queue=first-line&incident={outage.pk}") == [covered.reference]
    assert listed(f"status=resolved&incident={outage.pk}") == []
    [row] = client.get(f"/api/v1/tickets/?incident={outage.pk}").json()["results"]
    assert [i["id"] for i in row["incidents"]] == [outage.pk]


def test_an_incident_filter_that_is_not_an_id_is_a_400(client, agent):
    client.force_login(agent)
    response = client.get("/api/v1/tickets/?incident=fibre")
    assert response.status_code == 400
    assert "incident" in response.json()["fields"]


@pytest.mark.parametrize(
    "change,field",
    [
        ({"service": "teleportation"}, "service"),
        ({"area": "atlantis"}, "area"),
        ({"equipment": "flux-capacitor"}, "equipment"),
        ({"category": "gossip"}, "category"),
        ({"subject": ""}, "subject"),
        ({"customer": "999999999"}, "customer"),
    ],
)
def test_the_api_names_the_field_at_fault(client, agent, change, field):
    sub = factories.SubscriptionFactory()
    client.force_login(agent)
    body = {"customer": sub.customer.number, "subject": "s", "description": "d", **change}
    response = client.post("/api/v1/tickets/", body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Ticket.objects.exists()


def test_malformed_json_is_a_400_not_a_500(client, agent):
    client.force_login(agent)
    response = client.post("/api/v1/tickets/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_a_customer_cannot_open_a_ticket_on_someone_elses_subscription(client, alice, bob):
    client.force_login(alice.user)
    bobs_sub = bob.subscriptions.get()
    response = client.post(
        "/api/v1/tickets/",
        {"subject": "s", "description": "d", "subscription": bobs_sub.pk},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "subscription" in response.json()["fields"]
    response = client.post(
        "/api/v1/tickets/",
        {"subject": "s", "description": "d", "customer": bob.number},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_token_auth_works_for_integrations(client, agent):
    token = client.post("/api/v1/auth/token/", {"username": "anna", "password": "pw-anna"}).json()["token"]
    assert client.get("/api/v1/services/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    assert client.get("/api/v1/services/", HTTP_AUTHORIZATION="Token nope").status_code == 401
