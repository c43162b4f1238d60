"""Second line's similar tickets: the last day's open tickets that no incident explains, grouped
by service and municipality; from a cluster, declare with the scope prefilled or link them all."""

from __future__ import annotations

import pytest

from incidents.models import IncidentTicketLink
from tests import factories
from tests.factories import logged_in
from tickets.models import TicketEvent
from tickets.selectors import escalation_clusters

pytestmark = pytest.mark.core


@pytest.fixture
def cluster(catalogue, ticket_in, ops):
    """Three broadband tickets in Stockholm's Solna and Täby today; noise that must not cluster."""
    tickets = [
        ticket_in(area=catalogue.solna),
        ticket_in(area=catalogue.taby),
        ticket_in(area=catalogue.solna),
    ]
    ticket_in(area=catalogue.hisingen)  # alone in its municipality
    old = ticket_in(area=catalogue.solna)
    factories.backdate(old, days=2)  # yesterday's news
    factories.declare_incident(actor=ops, services=[catalogue.email], areas=[catalogue.stockholm])
    ticket_in(service=catalogue.email, area=catalogue.solna)  # explained by that incident
    ticket_in(service=catalogue.email, area=catalogue.taby)
    return tickets


def test_similar_unexplained_tickets_of_one_municipality_form_a_cluster(cluster, catalogue):
    assert escalation_clusters() == [
        {
            "service_code": "broadband",
            "service_name": catalogue.broadband.name,
            "area_code": "se-ab",
            "area_name": "Stockholm",
            "count": 3,
        }
    ]


def test_from_the_panel_a_tech_declares_with_the_scope_prefilled_or_links_the_cluster(cluster, tech, ops):
    page = logged_in(tech).get("/desk/escalations/").content.decode()
    assert "/ops/incidents/new/?services=broadband&amp;areas=se-ab" in page
    assert "Link 3 tickets" in page

    incident = factories.declare_incident(
        actor=ops, title="Router firmware", services=[], areas=[], keywords=["zzz"]
    ).incident
    response = logged_in(tech).post(
        "/desk/clusters/link/",
        {"incident": incident.pk, "service": "broadband", "area": "se-ab"},
        follow=True,
    )
    assert "3 tickets linked to Router firmware." in response.content.decode()
    linked = set(
        IncidentTicketLink.objects.filter(incident=incident, detached_at__isnull=True).values_list(
            "ticket", flat=True
        )
    )
    assert linked == {t.pk for t in cluster}
    for ticket in cluster:
        assert ticket.events.filter(kind=TicketEvent.Kind.INCIDENT_LINKED, actor=tech).exists()
    # Now explained, they no longer cluster.
    assert escalation_clusters() == []


def test_a_customer_or_agent_without_linking_rights_cannot_link_a_cluster(cluster, alice, ops):
    incident = factories.declare_incident(actor=ops, title="X", keywords=["zzz"]).incident
    response = logged_in(alice.user).post(
        "/desk/clusters/link/", {"incident": incident.pk, "service": "broadband", "area": "se-ab"}
    )
    assert response.status_code == 403
    assert not IncidentTicketLink.objects.filter(incident=incident).exists()
