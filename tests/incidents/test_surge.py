"""Surge detection: clusters of similar tickets become proposed incidents, on PostgreSQL (set-based SQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Area
from incidents import surge
from incidents.models import Incident, IncidentTicketLink, SurgeProposal, SurgeTicket
from notifications.models import Alert
from tests import factories
from tickets.models import Ticket

pytestmark = pytest.mark.postgres


@pytest.fixture
def tree(db):
    """Sweden → Stockholm region → {Stockholm municipality → two postcodes, Solna → one};
    Sweden → Skåne → Malmö → one postcode."""
    area = factories.AreaFactory
    se = area(code="se", name="Sweden", kind=Area.Kind.COUNTRY, parent=None)
    ab = area(code="se-ab", name="Stockholms län", kind=Area.Kind.REGION, parent=se)
    sthlm = area(code="se-ab-0180", name="Stockholm", kind=Area.Kind.MUNICIPALITY, parent=ab)
    solna = area(code="se-ab-0184", name="Solna", kind=Area.Kind.MUNICIPALITY, parent=ab)
    m = area(code="se-m", name="Skåne", kind=Area.Kind.REGION, parent=se)
    malmo = area(code="se-m-1280", name="Malmö", kind=Area.Kind.MUNICIPALITY, parent=m)

    class T:
        broadband = factories.ServiceFactory(code="broadband", name="Fibre broadband")
        email = factories.ServiceFactory(code="email", name="E-mail")
        norrmalm = area(code="se-11122", name="111 22 Norrmalm", kind=Area.Kind.POSTCODE, parent=sthlm)
        vasastan = area(code="se-11346", name="113 46 Vasastan", kind=Area.Kind.POSTCODE, parent=sthlm)
        rasunda = area(code="se-17164", name="171 64 Råsunda", kind=Area.Kind.POSTCODE, parent=solna)
        malmo_c = area(code="se-21120", name="211 20 Malmö", kind=Area.Kind.POSTCODE, parent=malmo)
        modem = factories.EquipmentFactory(code="zyxel-vmg8825", vendor="ZyXEL", model="VMG8825")

    T.stockholm, T.region = sthlm, ab
    return T


def report(tree, *, area, service=None, equipment=None, at=None, **fields) -> Ticket:
    """A customer of ``service`` in ``area`` reports a fault (through the real ticket_open)."""
    sub = factories.SubscriptionFactory(
        service=service or tree.broadband, area=area, equipment=equipment or tree.modem
    )
    ticket = factories.open_ticket(customer=sub.customer, **fields)
    if at is not None:
        Ticket.objects.filter(pk=ticket.pk).update(created_at=at)
        ticket.created_at = at
    return ticket


def proposals() -> list[SurgeProposal]:
    return list(SurgeProposal.objects.select_related("incident", "area").order_by("pk"))


def test_a_postcode_cluster_gives_one_proposal_at_the_postcode(tree, ops, agent):
    cluster = [report(tree, area=tree.norrmalm) for _ in range(6)]
    report(tree, area=tree.malmo_c)  # elsewhere, not part of it

    result = surge.detect_surges()

    assert [p.cell for p in result.proposed] == ["broadband/area/se-11122"]
    (proposal,) = proposals()
    assert proposal.level == SurgeProposal.Level.POSTCODE and proposal.area == tree.norrmalm
    # All six came in the last 5 minutes: the short window is the one that fired.
    assert (proposal.reports, proposal.window_minutes) == (6, 5)
    assert proposal.expected == pytest.approx(0.5 / 3)
    assert set(proposal.cluster.values_list("ticket_id", flat=True)) == {t.pk for t in cluster}
    incident = proposal.incident
    assert incident.status == Incident.Status.PROPOSED and incident.source == Incident.Source.SURGE
    assert list(incident.areas.all()) == [tree.norrmalm] and list(incident.services.all()) == [tree.broadband]
    assert surge.surge_summary(proposal) == "6 reports in 5 min, usually under 1"
    # A proposal matches nothing and is not an active incident (customers and matching ignore it).
    assert not IncidentTicketLink.objects.exists()
    assert not Incident.objects.active().exists()
    # Ops, and only ops, are alerted over the alert path, with the numbers.
    alerts = Alert.objects.filter(kind=Alert.Kind.INCIDENT_PROPOSED)
    assert [a.recipient_id for a in alerts] == [ops.pk]
    assert alerts[0].payload["proposal"]["reports"] == 6
    assert alerts[0].payload["proposal"]["summary"]["sv"] == "6 ärenden på 5 min, vanligen under 1"


def test_a_surge_spread_over_postcodes_is_proposed_at_the_municipality(tree, ops):
    for _ in range(3):
        report(tree, area=tree.norrmalm)
        report(tree, area=tree.vasastan)

    surge.detect_surges()

    (proposal,) = proposals()
    assert proposal.level == SurgeProposal.Level.MUNICIPALITY and proposal.area == tree.stockholm
    assert proposal.reports == 6


def test_scattered_tickets_give_no_proposal(tree, ops):
    for area in (tree.norrmalm, tree.rasunda, tree.malmo_c):
        report(tree, area=area)
        report(tree, area=area, service=tree.email)

    assert surge.detect_surges().proposed == []
    assert not SurgeProposal.objects.exists()


def test_a_busy_municipality_as_busy_as_usual_gives_no_proposal(tree, ops):
    now = timezone.now()
    # The same hour of the week, the last four weeks: 8 tickets in Stockholm each time, spread.
    for week in range(1, 5):
        for i in range(8):
            area = (tree.norrmalm, tree.vasastan)[i % 2]
            report(tree, area=area, at=now - timedelta(weeks=week, minutes=i * 7))
    for i in range(4):  # today: as usual, 2+2 over 15 minutes
        report(tree, area=(tree.norrmalm, tree.vasastan)[i % 2], at=now - timedelta(minutes=i * 3))

    assert surge.detect_surges(now=now).proposed == []


def test_billing_questions_after_a_mailing_are_not_an_outage(tree, ops):
    for _ in range(8):
        report(tree, area=tree.norrmalm, category=Ticket.Category.BILLING)

    assert surge.detect_surges().proposed == []


def test_running_the_task_twice_proposes_once_and_the_proposal_grows(tree, ops):
    from incidents.tasks import detect_surges

    cluster = [report(tree, area=tree.norrmalm) for _ in range(5)]
    assert detect_surges() == 1
    assert detect_surges() == 0
    assert SurgeProposal.objects.count() == 1 and Incident.objects.count() == 1
    assert Alert.objects.filter(kind=Alert.Kind.INCIDENT_PROPOSED).count() == 1

    later = report(tree, area=tree.norrmalm)
    detect_surges()

    (proposal,) = proposals()
    assert set(proposal.cluster.values_list("ticket_id", flat=True)) == {t.pk for t in [*cluster, later]}
    assert SurgeProposal.objects.count() == 1


def test_the_database_refuses_a_second_open_proposal_for_a_cell(tree, ops):
    for _ in range(5):
        report(tree, area=tree.norrmalm)
    (proposal,) = surge.detect_surges().proposed
    twin = Incident.objects.create(title="twin", kind="outage", status=Incident.Status.PROPOSED)
    with pytest.raises(IntegrityError), transaction.atomic():
        SurgeProposal.objects.create(
            incident=twin,
            cell=proposal.cell,
            level=proposal.level,
            service=tree.broadband,
            area=tree.norrmalm,
            reports=5,
            window_minutes=15,
            expected=0.5,
            p_value=0.001,
        )


def test_confirm_declares_it_and_links_exactly_the_cluster_and_alerts_agents(tree, ops, agent):
    cluster = [report(tree, area=tree.norrmalm) for _ in range(5)]
    Ticket.objects.filter(pk=cluster[0].pk).update(assignee=agent)
    other_service = report(tree, area=tree.norrmalm, service=tree.email)
    other_place = report(tree, area=tree.vasastan)
    (proposal,) = surge.detect_surges().proposed

    result = surge.surge_confirm(incident=proposal.incident, actor=ops)

    incident = Incident.objects.get(pk=proposal.incident_id)
    assert incident.status == Incident.Status.INVESTIGATING and incident.source == Incident.Source.SURGE
    assert incident.created_by == ops and "5 reports in 5 min" in incident.description
    linked = set(IncidentTicketLink.objects.filter(incident=incident).values_list("ticket_id", flat=True))
    assert linked == {t.pk for t in cluster}
    assert other_service.pk not in linked and other_place.pk not in linked
    assert result.linked_count == 5
    # The normal declaration's alerts: every agent, and the assignee of a linked ticket.
    assert Alert.objects.filter(kind=Alert.Kind.INCIDENT_DECLARED, incident=incident, recipient=None).exists()
    matched = Alert.objects.get(kind=Alert.Kind.TICKET_MATCHED, incident=incident)
    assert matched.recipient == agent and matched.ticket_id == cluster[0].pk
    assert SurgeProposal.objects.get(pk=proposal.pk).state == SurgeProposal.State.CONFIRMED
    # Now covered by an active incident: nothing proposed again, however many more arrive.
    for _ in range(5):
        report(tree, area=tree.norrmalm)
    assert surge.detect_surges().proposed == []


def test_dismiss_keeps_the_cell_quiet_for_the_window(tree, ops, settings):
    settings.SURGE_QUIET_HOURS = 2
    now = timezone.now()
    for _ in range(5):
        report(tree, area=tree.norrmalm, at=now)
    (proposal,) = surge.detect_surges(now=now).proposed

    surge.surge_dismiss(incident=proposal.incident, actor=ops, reason="a mailing", now=now)

    assert Incident.objects.get(pk=proposal.incident_id).status == Incident.Status.WITHDRAWN
    soon = now + timedelta(minutes=30)
    for _ in range(6):
        report(tree, area=tree.norrmalm, at=soon)
    assert surge.detect_surges(now=soon).proposed == []
    # Not through its parents either: its tickets stay counted in the dismissed proposal.
    assert SurgeProposal.objects.count() == 1
    after = now + timedelta(hours=2, minutes=10)
    for _ in range(6):
        report(tree, area=tree.norrmalm, at=after)
    (again,) = surge.detect_surges(now=after).proposed
    assert again.cell == proposal.cell and again.pk != proposal.pk


def test_confirm_and_dismiss_refuse_what_is_not_an_open_proposal(tree, ops):
    from core.errors import DomainError

    for _ in range(5):
        report(tree, area=tree.norrmalm)
    (proposal,) = surge.detect_surges().proposed
    surge.surge_dismiss(incident=proposal.incident, actor=ops)
    with pytest.raises(DomainError):
        surge.surge_confirm(incident=proposal.incident, actor=ops)
    with pytest.raises(DomainError):
        surge.surge_dismiss(incident=proposal.incident, actor=ops)


def test_a_rare_modem_failing_everywhere_is_proposed_for_the_equipment_model(tree, ops):
    rare = factories.EquipmentFactory(code="rare-ont", vendor="Acme", model="ONT 1")
    for area in (tree.norrmalm, tree.vasastan, tree.rasunda, tree.malmo_c, tree.norrmalm):
        report(tree, area=area, equipment=rare)

    levels = {(p.level, p.equipment_id) for p in surge.detect_surges().proposed}

    assert (SurgeProposal.Level.EQUIPMENT, rare.pk) in levels


def test_the_poisson_tail_and_the_floor():
    assert surge.poisson_upper_tail(0, 3.0) == 1.0
    assert surge.poisson_upper_tail(5, 0.5) == pytest.approx(1.7212e-4, rel=1e-3)
    assert surge.poisson_upper_tail(4, 0.5) > 0.001
    assert surge.min_reports(floor=0.5, alpha=0.001) == 4
    # The default: five in five minutes (or seven in fifteen) where under one is usual.
    assert surge.min_reports(floor=0.5, alpha=1e-5) == 5
    assert surge.scan_p(6, 2, 0.5)[0] > 1e-5 and surge.scan_p(7, 2, 0.5)[0] < 1e-5


# --- the API --------------------------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_ops_list_proposals_with_their_numbers(tree, ops, django_assert_num_queries):
    for area in (tree.norrmalm, tree.malmo_c):
        for _ in range(5):
            report(tree, area=area)
    surge.detect_surges()

    with django_assert_num_queries(6):  # whatever the number of proposals on the page (no COUNT: by cursor)
        response = api(ops).get("/api/v1/incidents/?status=proposed")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert {r["proposal"]["area"] for r in rows} == {"se-11122", "se-21120"}
    assert all(r["status"] == "proposed" and r["proposal"]["reports"] == 5 for r in rows)
    assert rows[0]["proposal"]["summary"] == "5 reports in 5 min, usually under 1"
    assert rows[0]["proposal"]["cluster_size"] == 5


def test_agents_may_not_list_proposals_nor_see_them_among_incidents(tree, ops, agent):
    for _ in range(5):
        report(tree, area=tree.norrmalm)
    surge.detect_surges()

    assert api(agent).get("/api/v1/incidents/?status=proposed").status_code == 403
    assert api(agent).get("/api/v1/incidents/").json()["results"] == []


def test_confirm_and_dismiss_over_the_api(tree, ops, agent):
    for area in (tree.norrmalm, tree.malmo_c):
        for _ in range(5):
            report(tree, area=area)
    first, second = surge.detect_surges().proposed

    assert api(agent).post(f"/api/v1/incidents/{first.incident_id}/confirm/").status_code == 403
    assert api(agent).post(f"/api/v1/incidents/{second.incident_id}/dismiss/").status_code == 403

    confirmed = api(ops).post(f"/api/v1/incidents/{first.incident_id}/confirm/", {"severity": "critical"})
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["status"] == "investigating" and confirmed.json()["linked_tickets"] == 5
    assert confirmed.json()["severity"] == 3

    dismissed = api(ops).post(f"/api/v1/incidents/{second.incident_id}/dismiss/", {"reason": "test"})
    assert dismissed.status_code == 200
    assert dismissed.json()["proposal"]["state"] == "dismissed"
    # Neither is a proposal any more: confirming again is a 404.
    assert api(ops).post(f"/api/v1/incidents/{first.incident_id}/confirm/").status_code == 404


def test_the_endpoints_are_in_the_openapi_schema(db, ops):
    schema = api(ops).get("/api/schema/?format=json").json()
    assert "/api/v1/incidents/{id}/confirm/" in schema["paths"]
    assert "/api/v1/incidents/{id}/dismiss/" in schema["paths"]


# --- agents see it first --------------------------------------------------------------------------


def test_an_agent_on_a_ticket_in_the_cell_sees_the_possible_outage_and_can_link_it(tree, ops, agent):
    for _ in range(5):
        report(tree, area=tree.norrmalm)
    (proposal,) = surge.detect_surges().proposed
    # Opened after the run, so not yet counted: the agent may add it.
    mine = report(tree, area=tree.norrmalm)
    elsewhere = report(tree, area=tree.malmo_c)
    client = Client()
    client.force_login(agent)

    page = client.get(f"/desk/tickets/{mine.reference}/").content.decode()
    assert "Possible outage: 5 similar reports in your area in the last 5 min" in page
    assert f"/ops/incidents/{proposal.incident_id}/" in page
    assert "surge-notice" not in client.get(f"/desk/tickets/{elsewhere.reference}/").content.decode()

    response = client.post(f"/desk/tickets/{mine.reference}/proposals/{proposal.incident_id}/link/")
    assert response.status_code == 302
    assert SurgeTicket.objects.filter(proposal=proposal, ticket=mine).exists()
    assert "This ticket is counted in it." in client.get(f"/desk/tickets/{mine.reference}/").content.decode()


def test_ops_confirm_from_the_proposal_page_and_agents_cannot(tree, ops, agent):
    for _ in range(5):
        report(tree, area=tree.norrmalm)
    (proposal,) = surge.detect_surges().proposed
    ops_client, agent_client = Client(), Client()
    ops_client.force_login(ops)
    agent_client.force_login(agent)

    listing = ops_client.get("/ops/incidents/").content.decode()
    assert f"/ops/incidents/{proposal.incident_id}/" in listing and "5 reports in 5 min" in listing
    assert (
        f"/ops/incidents/{proposal.incident_id}/" not in agent_client.get("/ops/incidents/").content.decode()
    )
    page = ops_client.get(f"/ops/incidents/{proposal.incident_id}/").content.decode()
    assert "Proposed from a surge of tickets" in page and "5 reports in 5 min" in page
    assert "Withdraw it" not in page  # a proposal is dismissed, not withdrawn
    assert agent_client.post(f"/ops/incidents/{proposal.incident_id}/confirm/").status_code == 403
    assert ops_client.post(f"/ops/incidents/{proposal.incident_id}/confirm/").status_code == 302
    assert Incident.objects.get(pk=proposal.incident_id).status == Incident.Status.INVESTIGATING


def test_confirm_also_attaches_a_ticket_an_agent_added_from_outside_the_cell(tree, ops, agent):
    for _ in range(5):
        report(tree, area=tree.norrmalm)
    (proposal,) = surge.detect_surges().proposed
    next_door = report(tree, area=tree.vasastan)
    surge.surge_link_ticket(incident=proposal.incident, ticket=next_door, actor=agent)

    result = surge.surge_confirm(incident=proposal.incident, actor=ops)

    link = IncidentTicketLink.objects.get(incident=proposal.incident, ticket=next_door)
    assert link.attached and link.reasons == {"surge": "broadband/area/se-11122"}
    assert result.linked_count == 6


def test_the_usual_numbers_scale_with_how_busy_the_whole_desk_is_capped(tree, ops, settings):
    settings.SURGE_DESK_FACTOR_CAP = 2.0
    now = timezone.now()
    places = (tree.norrmalm, tree.vasastan, tree.rasunda, tree.malmo_c)
    for week in range(1, 5):  # 6 in the hour around this time each week: usually 1.5 per quarter-hour
        for i in range(8):
            report(tree, area=places[i % 4], at=now - timedelta(weeks=week, minutes=i * 7))
    assert surge.desk_factor(now=now) == 1.0  # quiet now: never below 1
    for i in range(2):
        report(tree, area=places[i], at=now - timedelta(minutes=i))
    assert surge.desk_factor(now=now) == pytest.approx(2 / 1.5)
    for i in range(5):
        report(tree, area=places[i % 4], at=now - timedelta(minutes=i))
    assert surge.desk_factor(now=now) == 2.0  # four times as busy: capped
    settings.SURGE_DESK_FACTOR_CAP = 1
    assert surge.desk_factor(now=now) == 1.0
