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
    # All six came in the last 3 minutes: the shortest look is the one that fired, against the floor
    # (0.05 per 15 minutes: 0.01 in 3).
    assert (proposal.reports, proposal.window_minutes) == (6, 3)
    assert proposal.expected == pytest.approx(0.05 / 5)
    assert set(proposal.cluster.values_list("ticket_id", flat=True)) == {t.pk for t in cluster}
    incident = proposal.incident
    assert incident.status == Incident.Status.PROPOSED and incident.source == Incident.Source.SURGE
    assert list(incident.areas.all()) == [tree.norrmalm] and list(incident.services.all()) == [tree.broadband]
    assert surge.surge_summary(proposal) == "6 reports in 3 min, usually under 1"
    # A proposal matches nothing and is not an active incident (customers and matching ignore it).
    assert not IncidentTicketLink.objects.exists()
    assert not Incident.objects.active().exists()
    # Ops, and only ops, are alerted over the alert path, with the numbers.
    alerts = Alert.objects.filter(kind=Alert.Kind.INCIDENT_PROPOSED)
    assert [a.recipient_id for a in alerts] == [ops.pk]
    assert alerts[0].payload["proposal"]["reports"] == 6
    assert alerts[0].payload["proposal"]["summary"]["sv"] == "6 ärenden på 3 min, vanligen under 1"


def test_a_surge_spread_over_postcodes_is_proposed_at_the_municipality(tree, ops):
    for _ in range(3):
        report(tree, area=tree.norrmalm)
        report(tree, area=tree.vasastan)

    surge.detect_surges()

    (proposal,) = proposals()
    assert proposal.level == SurgeProposal.Level.MUNICIPALITY and proposal.area == tree.stockholm
    assert proposal.reports == 6


def test_scattered_tickets_give_no_proposal(tree, ops):
    # Two in each postcode, of two services, each customer with a modem of their own: no cell has
    # three (two reports are never an outage, whatever the numbers).
    for area in (tree.norrmalm, tree.rasunda, tree.malmo_c):
        report(tree, area=area, equipment=factories.EquipmentFactory())
        report(tree, area=area, service=tree.email, equipment=factories.EquipmentFactory())

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


def test_the_usual_number_counts_two_hours_around_the_same_time_each_past_week(tree, ops, settings):
    now = timezone.now()
    # Each of the last four weeks, 8 tickets in Norrmalm 50 minutes before this time of day: an hour
    # either side of it, so usually 1 per 15 minutes — 3 reports in 3 minutes are within chance.
    for week in range(1, 5):
        for _ in range(8):
            report(tree, area=tree.norrmalm, at=now - timedelta(weeks=week, minutes=50))
    for _ in range(3):
        report(tree, area=tree.norrmalm, at=now - timedelta(minutes=1))

    assert surge.detect_surges(now=now).proposed == []
    # Counting only the hour around it (the old baseline), the cell looks quiet and the three fire.
    settings.SURGE_BASELINE_SPAN_MINUTES = 60
    (proposal,) = surge.detect_surges(now=now).proposed
    assert proposal.level == SurgeProposal.Level.POSTCODE and proposal.reports == 3


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
    assert incident.created_by == ops and "5 reports in 3 min" in incident.description
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
    area = factories.AreaFactory
    west = area(
        code="se-o", name="Västra Götaland", kind=Area.Kind.REGION, parent=Area.objects.get(code="se")
    )
    haga = area(
        code="se-41301",
        name="413 01 Haga",
        kind=Area.Kind.POSTCODE,
        parent=area(code="se-o-1480", name="Göteborg", kind=Area.Kind.MUNICIPALITY, parent=west),
    )
    # Five reports in three regions, no more than two in any of them: the modem is what they share.
    for place in (tree.norrmalm, tree.rasunda, tree.malmo_c, haga, haga):
        report(tree, area=place, equipment=rare)

    levels = {(p.level, p.equipment_id) for p in surge.detect_surges().proposed}

    assert (SurgeProposal.Level.EQUIPMENT, rare.pk) in levels


def test_the_poisson_tail_the_looks_and_the_floor(settings):
    assert surge.poisson_upper_tail(0, 3.0) == 1.0
    assert surge.poisson_upper_tail(5, 0.5) == pytest.approx(1.7212e-4, rel=1e-3)
    assert surge.poisson_upper_tail(4, 0.5) > 0.001
    # Two looks (5 and 15 minutes) against a floor of 0.5 per 15 minutes: five in five minutes, or
    # seven in fifteen.
    settings.SURGE_SHORT_LOOKS_MINUTES = [5]
    settings.SURGE_MIN_REPORTS = 1
    assert surge.min_reports(floor=0.5, alpha=0.001) == 4
    assert surge.min_reports(floor=0.5, alpha=1e-5) == 5
    assert surge.scan_p({5: 2, 15: 6}, 0.5)[0] > 1e-5
    assert surge.scan_p({5: 2, 15: 7}, 0.5) == (pytest.approx(2 * surge.poisson_upper_tail(7, 0.5)), 15, 7)
    # A third look shares the same budget: each tail is tripled.
    settings.SURGE_SHORT_LOOKS_MINUTES = [5, 3]
    assert surge.looks() == (3, 5, 15)
    p, look, count = surge.scan_p({3: 4, 5: 4, 15: 4}, 0.5)
    assert (look, count) == (3, 4) and p == pytest.approx(3 * surge.poisson_upper_tail(4, 0.1))
    # Never on two reports, however low the floor.
    assert surge.min_reports(floor=0.001, alpha=1e-5) == 2
    settings.SURGE_MIN_REPORTS = 3
    assert surge.min_reports(floor=0.001, alpha=1e-5) == 3


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
    assert rows[0]["proposal"]["summary"] == "5 reports in 3 min, usually under 1"
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
    assert "Possible outage: 5 similar reports in your area in the last 3 min" in page
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
    assert f"/ops/incidents/{proposal.incident_id}/" in listing and "5 reports in 3 min" in listing
    assert (
        f"/ops/incidents/{proposal.incident_id}/" not in agent_client.get("/ops/incidents/").content.decode()
    )
    page = ops_client.get(f"/ops/incidents/{proposal.incident_id}/").content.decode()
    assert "Proposed from a surge of tickets" in page and "5 reports in 3 min" in page
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
    settings.SURGE_BASELINE_SPAN_MINUTES = 60  # the hour around this time each past week
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


# --- one proposal per outage ----------------------------------------------------------------------


@pytest.fixture
def strict(settings):
    """Thresholds pinned for the merge tests: five in five minutes for a quiet cell."""
    settings.SURGE_SHORT_LOOKS_MINUTES = [5]
    settings.SURGE_BASELINE_FLOOR = 0.5
    settings.SURGE_P_VALUE = 1e-5
    settings.SURGE_MIN_REPORTS = 3
    return settings


def test_a_municipality_surging_around_an_open_postcode_proposal_widens_it(tree, ops, strict):
    sodermalm = factories.AreaFactory(
        code="se-11820", name="118 20 Södermalm", kind=Area.Kind.POSTCODE, parent=tree.stockholm
    )
    now = timezone.now()
    first = [report(tree, area=tree.norrmalm, at=now - timedelta(minutes=3)) for _ in range(5)]
    (proposal,) = surge.detect_surges(now=now - timedelta(minutes=2)).proposed
    assert proposal.level == SurgeProposal.Level.POSTCODE
    # Then the outage spreads: three more in each of two other postcodes of Stockholm, neither
    # enough on its own, together a municipality's surge.
    spread = [report(tree, area=area, at=now) for area in (tree.vasastan, sodermalm) for _ in range(3)]

    result = surge.detect_surges(now=now)

    assert result.proposed == [] and [p.pk for p in result.widened] == [proposal.pk]
    (widened,) = SurgeProposal.objects.filter(state=SurgeProposal.State.OPEN)
    assert widened.pk == proposal.pk and widened.level == SurgeProposal.Level.MUNICIPALITY
    assert widened.cell == "broadband/area/se-ab-0180" and widened.area == tree.stockholm
    assert set(widened.cluster.values_list("ticket_id", flat=True)) == {t.pk for t in [*first, *spread]}
    incident = Incident.objects.get(pk=proposal.incident_id)
    assert list(incident.areas.all()) == [tree.stockholm] and "Stockholm" in incident.title
    assert incident.status == Incident.Status.PROPOSED and Incident.objects.count() == 1
    # Ops were told once: the outage is proposed once, it only grew.
    assert Alert.objects.filter(kind=Alert.Kind.INCIDENT_PROPOSED).count() == 1
    # And it goes on growing, whatever postcode of Stockholm the next report comes from.
    later = report(tree, area=sodermalm, at=now + timedelta(minutes=1))
    assert surge.detect_surges(now=now + timedelta(minutes=1)).proposed == []
    assert widened.cluster.filter(ticket=later).exists()


def test_a_second_postcode_of_the_municipality_widens_the_first_proposal(tree, ops, strict):
    now = timezone.now()
    first = [report(tree, area=tree.norrmalm, at=now - timedelta(minutes=4)) for _ in range(5)]
    (proposal,) = surge.detect_surges(now=now - timedelta(minutes=3)).proposed
    second = [report(tree, area=tree.vasastan, at=now) for _ in range(5)]

    result = surge.detect_surges(now=now)

    assert result.proposed == [] and [p.pk for p in result.widened] == [proposal.pk]
    (kept,) = SurgeProposal.objects.all()
    assert kept.level == SurgeProposal.Level.MUNICIPALITY and kept.area == tree.stockholm
    assert set(kept.cluster.values_list("ticket_id", flat=True)) == {t.pk for t in [*first, *second]}


def test_two_postcodes_of_a_municipality_in_one_run_are_the_municipality(tree, ops, strict):
    for area in (tree.norrmalm, tree.vasastan):
        for _ in range(5):
            report(tree, area=area)

    (proposal,) = surge.detect_surges().proposed

    assert proposal.level == SurgeProposal.Level.MUNICIPALITY and proposal.cluster.count() == 10


def test_two_open_area_proposals_of_one_modem_merge_into_the_modem_s(tree, ops, strict):
    rare = factories.EquipmentFactory(code="rare-ont", vendor="Acme", model="ONT 1")
    now = timezone.now()
    for area in (tree.norrmalm, tree.malmo_c):  # two regions: two proposals
        for _ in range(5):
            report(tree, area=area, equipment=rare, at=now - timedelta(minutes=4))
    older, newer = sorted(surge.detect_surges(now=now - timedelta(minutes=3)).proposed, key=lambda p: p.pk)
    area = factories.AreaFactory
    west = area(
        code="se-o", name="Västra Götaland", kind=Area.Kind.REGION, parent=Area.objects.get(code="se")
    )
    gbg = area(code="se-o-1480", name="Göteborg", kind=Area.Kind.MUNICIPALITY, parent=west)
    haga = area(code="se-41301", name="413 01 Haga", kind=Area.Kind.POSTCODE, parent=gbg)
    for place in (tree.vasastan, tree.rasunda, tree.rasunda, tree.vasastan, haga):
        report(tree, area=place, equipment=rare, at=now)  # and the same modem elsewhere, a few each

    surge.detect_surges(now=now)

    (kept,) = SurgeProposal.objects.filter(state=SurgeProposal.State.OPEN)
    assert kept.pk == older.pk and kept.level == SurgeProposal.Level.EQUIPMENT and kept.equipment == rare
    assert kept.cluster.count() == 15
    gone = SurgeProposal.objects.get(pk=newer.pk)
    assert gone.state == SurgeProposal.State.MERGED and gone.merged_into_id == older.pk
    assert Incident.objects.get(pk=newer.incident_id).status == Incident.Status.WITHDRAWN
    # Its page says where it went.
    client = Client()
    client.force_login(ops)
    page = client.get(f"/ops/incidents/{newer.incident_id}/").content.decode()
    assert "Merged into a wider proposal" in page and f"/ops/incidents/{older.incident_id}/" in page
    # Confirming the one left declares the outage once, with every ticket of both.
    result = surge.surge_confirm(incident=kept.incident, actor=ops)
    assert result.linked_count == 15


def test_a_postcode_and_its_municipality_in_one_run_are_one_proposal(tree, ops, strict):
    sodermalm = factories.AreaFactory(
        code="se-11820", name="118 20 Södermalm", kind=Area.Kind.POSTCODE, parent=tree.stockholm
    )
    for _ in range(5):
        report(tree, area=tree.norrmalm)
    for area in (tree.vasastan, sodermalm):
        for _ in range(3):
            report(tree, area=area)

    (proposal,) = surge.detect_surges().proposed

    assert proposal.level == SurgeProposal.Level.MUNICIPALITY and proposal.cluster.count() == 11
    assert SurgeProposal.objects.count() == 1


def test_a_postcode_inside_an_open_municipality_proposal_grows_it(tree, ops, strict):
    for area in (tree.norrmalm, tree.vasastan):
        for _ in range(3):
            report(tree, area=area)
    (proposal,) = surge.detect_surges().proposed
    assert proposal.level == SurgeProposal.Level.MUNICIPALITY

    more = [report(tree, area=tree.norrmalm) for _ in range(6)]  # the postcode alone would surge

    assert surge.detect_surges().proposed == []
    assert SurgeProposal.objects.count() == 1
    assert set(more) <= set(Ticket.objects.filter(pk__in=proposal.cluster.values("ticket_id")))


def test_an_area_proposal_of_one_modem_becomes_the_modem_s_when_it_fails_elsewhere(tree, ops, strict):
    rare = factories.EquipmentFactory(code="rare-ont", vendor="Acme", model="ONT 1")
    now = timezone.now()
    first = [
        report(tree, area=tree.norrmalm, equipment=rare, at=now - timedelta(minutes=3)) for _ in range(5)
    ]
    (proposal,) = surge.detect_surges(now=now - timedelta(minutes=2)).proposed
    assert proposal.level == SurgeProposal.Level.POSTCODE
    # The same modem now fails all over the country, a ticket or two per place.
    places = (tree.vasastan, tree.rasunda, tree.malmo_c, tree.rasunda, tree.malmo_c)
    elsewhere = [report(tree, area=area, equipment=rare, at=now) for area in places]

    result = surge.detect_surges(now=now)

    assert result.proposed == []
    (kept,) = SurgeProposal.objects.filter(state=SurgeProposal.State.OPEN)
    assert kept.pk == proposal.pk and kept.level == SurgeProposal.Level.EQUIPMENT
    assert kept.equipment == rare and kept.area is None
    assert set(kept.cluster.values_list("ticket_id", flat=True)) == {t.pk for t in [*first, *elsewhere]}
    incident = Incident.objects.get(pk=proposal.incident_id)
    assert list(incident.equipment.all()) == [rare] and not incident.areas.exists()


def test_an_area_outage_with_mixed_modems_is_not_taken_by_a_modem_failing_elsewhere(tree, ops, strict):
    rare = factories.EquipmentFactory(code="rare-ont", vendor="Acme", model="ONT 1")
    now = timezone.now()
    for _ in range(5):  # the usual modem: a local outage
        report(tree, area=tree.norrmalm, at=now - timedelta(minutes=3))
    (local,) = surge.detect_surges(now=now - timedelta(minutes=2)).proposed
    for area in (tree.vasastan, tree.rasunda, tree.malmo_c, tree.rasunda, tree.malmo_c):
        report(tree, area=area, equipment=rare, at=now)

    (modem,) = surge.detect_surges(now=now).proposed

    assert modem.level == SurgeProposal.Level.EQUIPMENT and modem.equipment == rare
    assert SurgeProposal.objects.get(pk=local.pk).level == SurgeProposal.Level.POSTCODE
    assert SurgeProposal.objects.filter(state=SurgeProposal.State.OPEN).count() == 2
