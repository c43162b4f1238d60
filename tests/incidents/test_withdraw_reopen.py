"""Withdraw an incident declared by mistake, reopen a resolved one, and confirm before resolving."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.errors import DomainError
from incidents import signals
from incidents.models import Incident, IncidentTicketLink, IncidentUpdate
from incidents.services import (
    incident_link_ticket,
    incident_reopen,
    incident_resolve,
    incident_withdraw,
)
from notifications.models import Alert
from tests import factories
from tests.factories import declare_incident

pytestmark = pytest.mark.postgres


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def withdrawn_signals():
    captured = []

    def receiver(sender, **kwargs):
        kwargs.pop("signal", None)
        captured.append(kwargs)

    signals.incident_withdrawn.connect(receiver, weak=False)
    yield captured
    signals.incident_withdrawn.disconnect(receiver)


# --- withdraw -------------------------------------------------------------------------------------


def test_withdrawing_detaches_every_link_but_keeps_the_rows_and_the_history(
    catalogue, ticket_in, ops, tech, withdrawn_signals
):
    auto = ticket_in(service=catalogue.email)
    by_hand = ticket_in(service=catalogue.iptv)
    incident = declare_incident(actor=ops, title="Test", services=[catalogue.email]).incident
    incident_link_ticket(incident=incident, ticket=by_hand, actor=tech)

    result = incident_withdraw(incident=incident, actor=ops, reason="Declared by mistake in a drill")

    assert result.detached_count == 2
    incident.refresh_from_db()
    assert incident.status == Incident.Status.WITHDRAWN and not incident.is_active
    assert not Incident.objects.active().filter(pk=incident.pk).exists()
    links = IncidentTicketLink.objects.filter(incident=incident)
    assert {link.ticket_id for link in links} == {auto.pk, by_hand.pk}
    for link in links:
        assert link.detached_at is not None and link.detached_by == ops
        assert link.detach_reason == "Declared by mistake in a drill"
    entry = IncidentUpdate.objects.filter(incident=incident, status="withdrawn").get()
    assert entry.public is False and entry.author == ops
    assert withdrawn_signals == [
        {"incident": incident, "actor": ops, "reason": "Declared by mistake in a drill", "detached_count": 2}
    ]


def test_withdrawing_is_one_update_whatever_the_number_of_links(
    catalogue, ticket_in, ops, django_assert_num_queries
):
    small = declare_incident(actor=ops, title="Small", services=[catalogue.email]).incident
    ticket_in(service=catalogue.email)
    for _ in range(3):
        ticket_in(service=catalogue.iptv)
    large = declare_incident(actor=ops, title="Large", services=[catalogue.iptv]).incident
    assert large.links.count() == 3

    def queries_to_withdraw(incident) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            incident_withdraw(incident=incident, actor=ops, reason="mistake")
        return len(captured)

    assert queries_to_withdraw(small) == queries_to_withdraw(large)


def test_a_withdrawal_needs_a_reason_and_happens_once(catalogue, ops):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    with pytest.raises(DomainError) as refused:
        incident_withdraw(incident=incident, actor=ops, reason="  ")
    assert refused.value.field == "reason"
    incident_withdraw(incident=incident, actor=ops, reason="mistake")
    with pytest.raises(DomainError):
        incident_withdraw(incident=incident, actor=ops, reason="again")


def test_a_withdrawn_incident_links_no_new_ticket(catalogue, ticket_in, ops):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    incident_withdraw(incident=incident, actor=ops, reason="mistake")
    ticket = ticket_in(service=catalogue.email)
    assert not IncidentTicketLink.objects.filter(ticket=ticket).exists()


def test_a_withdrawn_incident_vanishes_from_every_page_customers_and_agents_see(catalogue, ops, agent, alice):
    sub = alice.subscriptions.get()
    ticket = factories.open_ticket(customer=alice, subscription=sub)
    incident = declare_incident(
        actor=ops, title="Phantom outage", services=[sub.service], public_message={"en": "PHANTOM"}
    ).incident
    assert "PHANTOM" in Client().get("/status/").content.decode()

    incident_withdraw(incident=incident, actor=ops, reason="mistake")

    assert "PHANTOM" not in Client().get("/status/").content.decode()
    assert api(agent).get("/api/v1/status/").json()["incidents"] == []
    assert "Phantom" not in client_for(alice.user).get(f"/my/tickets/{ticket.reference}/").content.decode()
    assert "Phantom" not in client_for(agent).get("/alerts/banner/").content.decode()
    assert (
        "Phantom"
        not in client_for(agent).get(f"/desk/tickets/{ticket.reference}/incidents/").content.decode()
    )
    lookup = api(agent).get("/api/v1/lookup/", {"customer": alice.number}).json()
    assert lookup["incidents"] == []
    queue = client_for(agent).get("/desk/queue/").content.decode()
    assert "Explained by an active incident" not in queue
    # Operations keep the history.
    assert "Phantom outage" in client_for(ops).get(f"/ops/incidents/{incident.pk}/").content.decode()
    assert "Phantom outage" in client_for(ops).get("/ops/incidents/").content.decode()


def test_a_resolved_mistake_withdrawn_leaves_the_recently_fixed_list(catalogue, ops):
    incident = declare_incident(actor=ops, title="Test", services=[catalogue.email]).incident
    incident_resolve(incident=incident, actor=ops)
    assert "Test" in Client().get("/status/").content.decode()
    incident_withdraw(incident=incident, actor=ops, reason="mistake")
    incident.refresh_from_db()
    assert incident.status == "withdrawn" and incident.resolved_at is not None
    assert ">Test<" not in Client().get("/status/").content.decode()


def test_agents_are_alerted_that_it_was_withdrawn_and_why(catalogue, ops, django_capture_on_commit_callbacks):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    with django_capture_on_commit_callbacks(execute=False):
        incident_withdraw(incident=incident, actor=ops, reason="Wrong region")
    alert = Alert.objects.filter(incident=incident).order_by("-id").first()
    assert alert.kind == Alert.Kind.INCIDENT_WITHDRAWN and alert.recipient is None
    assert alert.payload["reason"] == "Wrong region"


# --- reopen -----------------------------------------------------------------------------------------


def test_reopening_makes_it_active_and_links_what_it_covers_now(catalogue, ticket_in, ops):
    first = ticket_in(service=catalogue.email)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    incident_resolve(incident=incident, actor=ops)
    later = ticket_in(service=catalogue.email)
    assert not IncidentTicketLink.objects.filter(ticket=later).exists()

    result = incident_reopen(incident=incident, actor=ops, message={"en": "It broke again"})

    incident.refresh_from_db()
    assert incident.is_active and incident.resolved_at is None
    assert result.linked_count == 1
    assert set(incident.links.values_list("ticket_id", flat=True)) == {first.pk, later.pk}
    update = incident.updates.order_by("-id").first()
    assert update.public and update.message == {"en": "It broke again"}
    alert = Alert.objects.filter(incident=incident).order_by("-id").first()
    assert alert.kind in (Alert.Kind.INCIDENT_UPDATED, Alert.Kind.TICKET_MATCHED)
    assert Alert.objects.filter(incident=incident, kind=Alert.Kind.INCIDENT_UPDATED).exists()


def test_reopening_without_a_message_says_so_in_every_language(catalogue, ops):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    incident_resolve(incident=incident, actor=ops)
    incident_reopen(incident=incident, actor=ops)
    message = incident.updates.order_by("-id").first().message
    assert set(message) == {"sv", "fi", "en"}
    assert message["sv"] != message["en"] and message["fi"] != message["en"]


def test_reopening_keeps_a_persons_detach(catalogue, ticket_in, ops, tech):
    from incidents.services import incident_detach_ticket

    ticket = ticket_in(service=catalogue.email)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    incident_detach_ticket(incident=incident, ticket=ticket, actor=tech, reason="not this")
    incident_resolve(incident=incident, actor=ops)
    incident_reopen(incident=incident, actor=ops)
    assert incident.links.get(ticket=ticket).detached_at is not None


@pytest.mark.parametrize("state", ["active", "withdrawn"])
def test_only_a_resolved_incident_can_be_reopened(catalogue, ops, state):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    if state == "withdrawn":
        incident_withdraw(incident=incident, actor=ops, reason="mistake")
    with pytest.raises(DomainError) as refused:
        incident_reopen(incident=incident, actor=ops)
    assert refused.value.field == "status"


# --- the API -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["ops", "admin_user"])
def test_ops_and_admins_may_withdraw_and_reopen_through_the_api(catalogue, ticket_in, request, persona):
    user = request.getfixturevalue(persona)
    ticket_in(service=catalogue.email)
    ops = request.getfixturevalue("ops")
    mistaken = declare_incident(actor=ops, services=[catalogue.email]).incident
    response = api(user).post(
        f"/api/v1/incidents/{mistaken.pk}/withdraw/", {"reason": "drill"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn" and response.json()["detached_tickets"] == 1

    resolved = declare_incident(actor=ops, title="Real", services=[catalogue.email]).incident
    incident_resolve(incident=resolved, actor=ops)
    response = api(user).post(f"/api/v1/incidents/{resolved.pk}/reopen/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "investigating" and response.json()["resolved_at"] is None


@pytest.mark.parametrize("persona", ["agent", "tech", "outsider"])
def test_others_may_not_withdraw_or_reopen(catalogue, ops, request, persona):
    user = request.getfixturevalue(persona)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    assert api(user).post(f"/api/v1/incidents/{incident.pk}/withdraw/", {"reason": "x"}).status_code == 403
    incident_resolve(incident=incident, actor=ops)
    assert api(user).post(f"/api/v1/incidents/{incident.pk}/reopen/", {}).status_code == 403
    assert Incident.objects.get(pk=incident.pk).status == "resolved"


def test_customers_may_not_withdraw(catalogue, ops, alice):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    response = api(alice.user).post(f"/api/v1/incidents/{incident.pk}/withdraw/", {"reason": "x"})
    assert response.status_code == 403


def test_the_api_names_the_field_when_refusing(catalogue, ops):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    response = api(ops).post(f"/api/v1/incidents/{incident.pk}/withdraw/", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    response = api(ops).post(f"/api/v1/incidents/{incident.pk}/reopen/", {}, format="json")
    assert response.status_code == 400 and "status" in response.json()["fields"]
    assert api(ops).post("/api/v1/incidents/999999/withdraw/", {"reason": "x"}).status_code == 404


def test_updates_cannot_set_or_follow_a_withdrawal(catalogue, ops):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    url = f"/api/v1/incidents/{incident.pk}/updates/"
    response = api(ops).post(url, {"message": "x", "status": "withdrawn"}, format="json")
    assert response.status_code == 400 and "status" in response.json()["fields"]
    incident_withdraw(incident=incident, actor=ops, reason="mistake")
    assert api(ops).post(url, {"message": "x"}, format="json").status_code == 400


# --- the pages ---------------------------------------------------------------------------------------


def test_resolving_on_the_page_asks_for_confirmation_first(catalogue, ticket_in, ops):
    ticket_in(service=catalogue.email)
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    client = client_for(ops)
    page = client.post(f"/ops/incidents/{incident.pk}/resolve/", {"message_en": "Fixed now"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Resolve this incident?" in body and "1 open ticket is linked" in body
    assert 'name="confirm" value="yes"' in body and 'value="Fixed now"' in body
    assert Incident.objects.get(pk=incident.pk).is_active

    done = client.post(
        f"/ops/incidents/{incident.pk}/resolve/", {"message_en": "Fixed now", "confirm": "yes"}
    )
    assert done.status_code == 302
    assert Incident.objects.get(pk=incident.pk).status == "resolved"


def test_ops_withdraw_and_reopen_from_the_incident_page(catalogue, ops, agent):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    client = client_for(ops)
    assert 'id="withdraw"' in client.get(f"/ops/incidents/{incident.pk}/").content.decode()
    assert (
        client_for(agent).post(f"/ops/incidents/{incident.pk}/withdraw/", {"reason": "x"}).status_code == 403
    )
    client.post(f"/ops/incidents/{incident.pk}/withdraw/", {"reason": "drill"})
    assert Incident.objects.get(pk=incident.pk).status == "withdrawn"

    other = declare_incident(actor=ops, title="Real", services=[catalogue.email]).incident
    incident_resolve(incident=other, actor=ops)
    assert 'id="reopen-form"' in client.get(f"/ops/incidents/{other.pk}/").content.decode()
    assert client_for(agent).post(f"/ops/incidents/{other.pk}/reopen/").status_code == 403
    client.post(f"/ops/incidents/{other.pk}/reopen/", {"message_en": "Back"})
    assert Incident.objects.get(pk=other.pk).is_active
