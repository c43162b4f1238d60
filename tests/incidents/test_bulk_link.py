"""Linking many tickets to an incident at once — from the queue's bulk bar, the API, or second line's
cluster of similar tickets — does to each what linking one by hand does (a person's link, its
timeline entry, the SLA clock stopped, no customer mail), in a fixed number of statements; tickets
already linked are skipped. The live queue's hint is tests/notifications/test_live_queue_bulk.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.roles import is_staff_member
from incidents.models import IncidentTicketLink
from incidents.services import (
    incident_detach_ticket,
    incident_link_ticket,
    incident_link_tickets,
    incident_resolve,
)
from notifications.models import Alert, Notification
from tests import factories
from tests.factories import logged_in
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_set_status, tickets_flag_sla_breaches

pytestmark = pytest.mark.core


@pytest.fixture
def incident(ops):
    """An active outage whose scope (a keyword nobody writes) matches no ticket by itself."""
    return factories.declare_incident(actor=ops, title="Fibre cut in Solna", keywords=["zzz-none"]).incident


def open_tickets(n: int) -> list[Ticket]:
    return [factories.open_ticket(subject=f"Case {i}") for i in range(n)]


def link_row(ticket: Ticket, incident) -> dict:
    return IncidentTicketLink.objects.filter(ticket=ticket, incident=incident).values(
        "origin", "score", "reasons", "linked_by", "detached_at", "detached_by", "detach_reason"
    )[0]


def linked_entries(ticket: Ticket) -> list[tuple]:
    return list(
        ticket.events.filter(kind=TicketEvent.Kind.INCIDENT_LINKED).values_list(
            "actor", "public", "body", "data"
        )
    )


def test_ticked_tickets_linked_from_the_bulk_bar_get_what_linking_one_gives(incident, agent):
    ticked, by_hand = open_tickets(3), factories.open_ticket(subject="One by one")
    past = timezone.now() - timedelta(hours=1)
    Ticket.objects.filter(pk__in=[t.pk for t in [*ticked, by_hand]]).update(sla_due_at=past)
    mail_before, alerts_before = Notification.objects.count(), Alert.objects.count()
    client = logged_in(agent)
    page = client.get(reverse("tickets:queue")).content.decode()
    assert f'<option value="link:{incident.pk}">#{incident.pk} Fibre cut in Solna</option>' in page

    response = client.post(
        reverse("tickets:queue_bulk"),
        {"t": [t.pk for t in ticked], "action": f"link:{incident.pk}", "form_token": "link-1"},
        follow=True,
    )
    incident_link_ticket(incident=incident, ticket=by_hand, actor=agent)

    assert "3 tickets changed." in response.content.decode()
    expected_row, expected_entries = link_row(by_hand, incident), linked_entries(by_hand)
    assert expected_row["origin"] == IncidentTicketLink.Origin.AGENT
    assert expected_row["reasons"] == {"manual": agent.username}
    assert expected_entries == [
        (agent.pk, False, "", {"incident": incident.pk, "title": "Fibre cut in Solna", "origin": "agent"})
    ]
    for ticket in ticked:
        assert link_row(ticket, incident) == expected_row
        assert linked_entries(ticket) == expected_entries
    # Their SLA clocks stand still: the sweep skips them, and the queue says what they wait on.
    assert tickets_flag_sla_breaches() == 0
    page = client.get(reverse("tickets:queue")).content.decode()
    rows = page.split('id="queue-rows"', 1)[1].split("</tbody>", 1)[0]
    assert rows.count('class="sla-paused"') == 4
    assert rows.count('<span class="pill outage"') == 4
    # A person linking tells no customer and alerts nobody, one by one or many.
    assert (Notification.objects.count(), Alert.objects.count()) == (mail_before, alerts_before)


def test_already_linked_tickets_are_skipped_and_a_detached_one_comes_back_as_the_persons_link(
    incident, agent, tech
):
    linked, new, detached = open_tickets(3)
    incident_link_ticket(incident=incident, ticket=linked, actor=tech)
    incident_link_ticket(incident=incident, ticket=detached, actor=tech)
    incident_detach_ticket(incident=incident, ticket=detached, actor=tech, reason="Not this one")

    ids = incident_link_tickets(incident=incident, ticket_ids=[linked.pk, new.pk, detached.pk], actor=agent)

    assert ids == sorted([new.pk, detached.pk])
    assert link_row(linked, incident)["linked_by"] == tech.pk, "an attached link stays as it was"
    assert len(linked_entries(linked)) == 1
    assert link_row(detached, incident) == link_row(new, incident)
    assert link_row(detached, incident)["detached_at"] is None
    assert [e[0] for e in linked_entries(detached)] == [tech.pk, agent.pk]
    assert incident_link_tickets(incident=incident, ticket_ids=ids, actor=agent) == [], "idempotent"
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.INCIDENT_LINKED).count() == 4


def test_closed_tickets_are_left_out_and_a_resolved_incident_links_nothing(incident, agent, ops):
    ticket, closed = open_tickets(2)
    ticket_set_status(ticket=closed, status=Ticket.Status.CLOSED, actor=agent)
    assert incident_link_tickets(incident=incident, ticket_ids=[ticket.pk, closed.pk], actor=agent) == [
        ticket.pk
    ]
    incident_resolve(incident=incident, actor=ops)
    other = factories.open_ticket()
    response = logged_in(agent).post(
        reverse("tickets:queue_bulk"), {"t": [other.pk], "action": f"link:{incident.pk}"}, follow=True
    )
    assert "This incident is resolved." in response.content.decode()
    assert not IncidentTicketLink.objects.filter(ticket=other).exists()


def test_bulk_linking_costs_the_same_queries_for_3_or_60_tickets(incident, agent, django_assert_num_queries):
    few, many = open_tickets(3), open_tickets(60)
    is_staff_member(agent)  # the actor's roles, read once per request in real use
    # Savepoint, the incident locked, one INSERT … SELECT … ON CONFLICT of the links, one INSERT of
    # the timeline entries, release.
    with django_assert_num_queries(5):
        assert len(incident_link_tickets(incident=incident, ticket_ids=[t.pk for t in few], actor=agent)) == 3
    with django_assert_num_queries(5):
        assert (
            len(incident_link_tickets(incident=incident, ticket_ids=[t.pk for t in many], actor=agent)) == 60
        )
    assert IncidentTicketLink.objects.filter(incident=incident, origin="agent").count() == 63


def test_the_api_links_many_and_refuses_an_unknown_incident_or_a_customer(incident, agent, alice):
    tickets = open_tickets(2)
    api = APIClient()
    api.force_authenticate(agent)
    url = "/api/v1/tickets/bulk/"
    body = {"tickets": [t.reference for t in tickets], "action": "link", "incident": incident.pk}
    assert api.post(url, body, format="json").json() == {"changed": 2}
    assert api.post(url, body, format="json").json() == {"changed": 0}, "already linked: skipped"
    assert all(linked_entries(t) for t in tickets)

    unknown = api.post(url, {**body, "incident": 999999}, format="json")
    assert unknown.status_code == 400 and "incident" in unknown.json()["fields"]
    missing = api.post(url, {k: v for k, v in body.items() if k != "incident"}, format="json")
    assert missing.json()["fields"] == {"incident": ["This field is required."]}
    assert api.post(url, {**body, "incident": 2**70}, format="json").status_code == 400
    customer = APIClient()
    customer.force_authenticate(alice.user)
    assert customer.post(url, body, format="json").status_code == 403


def test_a_cluster_of_3_or_60_tickets_is_linked_in_the_same_number_of_queries(
    catalogue, ticket_in, incident, tech
):
    small = [ticket_in(area=catalogue.solna) for _ in range(3)]
    big = [ticket_in(area=catalogue.hisingen) for _ in range(60)]
    client = logged_in(tech)
    client.post("/desk/clusters/link/", {"incident": incident.pk, "service": "broadband", "area": "none"})
    counts = []
    for area, tickets in (("se-ab", small), ("se-o", big)):
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/desk/clusters/link/", {"incident": incident.pk, "service": "broadband", "area": area}
            )
        assert response.status_code == 302
        counts.append(len(captured))
        for ticket in tickets:
            assert link_row(ticket, incident)["origin"] == "agent" and len(linked_entries(ticket)) == 1
    assert counts[0] == counts[1]
