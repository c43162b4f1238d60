"""The agent's incident fragment on a ticket and on a caller look-up."""

from __future__ import annotations

from django.test import Client

from incidents.models import IncidentTicketLink
from tests.factories import SubscriptionFactory, declare_incident


def client_for(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_the_ticket_fragment_shows_linked_and_covering_incidents_in_the_customers_language(
    catalogue, ticket_in, ops, agent
):
    linked = declare_incident(
        actor=ops,
        title="Mail down",
        services=[catalogue.email],
        agent_script={"sv": "Vi vet om felet", "en": "We know"},
        workaround={"sv": "1. Öppna webbmejlen\n2. Logga in"},
    ).incident
    ticket = ticket_in(service=catalogue.email, equipment=catalogue.zyxel)
    known = declare_incident(
        actor=ops, title="ZyXEL reset", kind="known-issue", equipment=[catalogue.zyxel]
    ).incident
    # The known issue was declared after the ticket: it links it too, and covers the subscription.
    IncidentTicketLink.objects.filter(incident=known).update(
        detached_at="2026-01-01T00:00:00Z", detached_by=agent
    )
    response = client_for(agent).get(f"/desk/tickets/{ticket.reference}/incidents/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Mail down" in body and "ZyXEL reset" in body
    assert "Vi vet om felet" in body  # the customer speaks Swedish
    assert "<ol><li>Öppna webbmejlen</li><li>Logga in</li></ol>" in body
    assert body.count("Detach") == 1  # only the attached link can be detached
    assert linked.pk


def test_the_ticket_fragment_offers_linking_to_another_incident(catalogue, ticket_in, ops, tech):
    ticket = ticket_in(service=catalogue.iptv)
    other = declare_incident(actor=ops, title="Mail down", services=[catalogue.email]).incident
    client = client_for(tech)
    body = client.get(f"/desk/tickets/{ticket.reference}/incidents/").content.decode()
    assert f'<option value="{other.pk}">Mail down</option>' in body
    response = client.post(
        f"/desk/tickets/{ticket.reference}/incidents/link/", {"incident": other.pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    link = IncidentTicketLink.objects.get(incident=other, ticket=ticket)
    assert link.origin == "agent" and link.linked_by == tech


def test_the_ticket_fragment_is_for_staff_only(catalogue, ticket_in, alice, outsider):
    ticket = ticket_in(service=catalogue.email)
    assert client_for(alice.user).get(f"/desk/tickets/{ticket.reference}/incidents/").status_code == 403
    assert client_for(outsider).get(f"/desk/tickets/{ticket.reference}/incidents/").status_code == 403


def test_the_customer_fragment_shows_incidents_covering_their_subscriptions(catalogue, ops, agent):
    sub = SubscriptionFactory(service=catalogue.broadband, area=catalogue.taby)
    declare_incident(
        actor=ops, title="Fibre cut in Stockholm", areas=[catalogue.stockholm], agent_script={"en": "Digger"}
    )
    declare_incident(actor=ops, title="Göteborg only", areas=[catalogue.goteborg])
    body = client_for(agent).get(f"/desk/customers/{sub.customer.number}/incidents/").content.decode()
    assert "Fibre cut in Stockholm" in body and "Göteborg only" not in body
    assert client_for(agent).get("/desk/customers/0000/incidents/").status_code == 404
