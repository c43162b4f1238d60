"""What a customer sees of their ticket — on their pages and through the API — carries nothing meant
for staff: no internal notes or escalation hand-overs, no staff usernames, queues, priorities or SLA
times, no match scores or reasons (the incident's title is public: the status page shows it), no internal incident text or updates, nothing of another customer."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from core import roles
from incidents.services import incident_post_update
from tests import factories
from tests.conftest import make_user
from tickets.services import ticket_assign, ticket_comment, ticket_escalate

pytestmark = [pytest.mark.django_db, pytest.mark.core]

SECRETS = [
    "NOTE-SECRET-7731",  # an internal note
    "HANDOVER-SECRET-8812",  # the escalation's "already tried"
    "agent-login-3391",  # the assignee's username (a display name may be shown)
    "INCIDENT-INTERNAL-5523",  # the incident's internal description
    "UPDATE-INTERNAL-9134",  # an internal incident update
    "BOB-SUBJECT-6620",  # the other customer's ticket
    "nameless-login-2207",  # the login of a tech who has no display name
]
STAFF_ONLY_KEYS = {"queue", "priority", "assignee", "sla_due_at", "needs_attention", "keep_open", "score", "reasons", "origin", "service_source", "description_internal"}  # fmt: skip


@pytest.fixture
def agent(db):
    """An agent whose username is easy to spot anywhere it leaks."""
    return make_user("agent-login-3391", roles.AGENT, first_name="Anna", last_name="Agent")


@pytest.fixture
def ticket(alice, bob, agent, ops):
    service = factories.ServiceFactory(code="email")
    ticket = factories.open_ticket(customer=alice, service=service, subject="Mail is down")
    factories.open_ticket(customer=bob, service=service, subject="BOB-SUBJECT-6620")
    ticket_comment(ticket=ticket, actor=agent, body="NOTE-SECRET-7731", public=False)
    ticket_comment(ticket=ticket, actor=agent, body="We are looking at it.", public=True)
    nameless = make_user("nameless-login-2207", roles.TECH)
    ticket_comment(ticket=ticket, actor=nameless, body="Second line here.", public=True)
    ticket_escalate(ticket=ticket, actor=agent, summary="Mail down", tried="HANDOVER-SECRET-8812")
    ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    incident = factories.declare_incident(
        actor=ops,
        title="INCIDENT-TITLE-4410",
        description="INCIDENT-INTERNAL-5523",
        services=[service],
        public_message={"en": "E-mail is down.", "sv": "E-posten ligger nere."},
    ).incident
    incident_post_update(incident=incident, actor=ops, message="UPDATE-INTERNAL-9134", public=False)
    incident_post_update(incident=incident, actor=ops, message="Fix under way.", public=True)
    ticket.refresh_from_db()
    return ticket


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def _keys(data) -> set[str]:
    keys, stack = set(), [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            keys |= set(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return keys


def test_the_customers_pages_show_nothing_for_staff(client, alice, ticket):
    client.force_login(alice.user)
    for url in ("/my/tickets/", f"/my/tickets/{ticket.reference}/", "/my/tickets/new/", "/status/"):
        page = client.get(url).content.decode()
        assert _leaks(page) == [], url
    assert "Fix under way." in client.get(f"/my/tickets/{ticket.reference}/").content.decode()


def test_the_customers_api_shows_nothing_for_staff(alice, ticket):
    api = APIClient()
    api.force_authenticate(alice.user)
    for url in (
        "/api/v1/tickets/",
        f"/api/v1/tickets/{ticket.reference}/",
        f"/api/v1/tickets/{ticket.reference}/comments/",
        "/api/v1/status/",
    ):
        response = api.get(url)
        assert response.status_code == 200, url
        assert _leaks(response.content.decode()) == [], url
        assert _keys(response.json()) & STAFF_ONLY_KEYS == set(), url
    detail = api.get(f"/api/v1/tickets/{ticket.reference}/").json()
    assert [i["public_message"]["en"] for i in detail["incidents"]] == ["E-mail is down."]


def test_what_the_customer_posts_answers_without_staff_fields(alice, ticket):
    api = APIClient()
    api.force_authenticate(alice.user)
    created = api.post("/api/v1/tickets/", {"subject": "New", "description": "d"}, format="json")
    commented = api.post(f"/api/v1/tickets/{ticket.reference}/comments/", {"body": "Hi"}, format="json")
    for response in (created, commented):
        assert response.status_code == 201
        assert _keys(response.json()) & STAFF_ONLY_KEYS == set()
        assert _leaks(json.dumps(response.json())) == []


def test_staff_still_see_everything(agent, ticket):
    api = APIClient()
    api.force_authenticate(agent)
    detail = api.get(f"/api/v1/tickets/{ticket.reference}/").json()
    assert detail["assignee"] == "agent-login-3391"
    assert {"queue", "priority", "sla_due_at"} <= set(detail)
    assert detail["incidents"][0]["reasons"]
    notes = api.get(f"/api/v1/tickets/{ticket.reference}/comments/").content.decode()
    assert "NOTE-SECRET-7731" in notes


def test_a_customer_gets_the_same_not_found_for_anothers_subscription_as_for_none(alice, bob):
    api = APIClient()
    api.force_authenticate(alice.user)
    bobs = bob.subscriptions.first().pk
    body = {"subject": "s", "description": "d"}
    theirs = api.post("/api/v1/tickets/", {**body, "subscription": bobs}, format="json")
    missing = api.post("/api/v1/tickets/", {**body, "subscription": 2**40}, format="json")
    assert theirs.status_code == missing.status_code == 400
    assert theirs.json()["error"].replace(str(bobs), "N") == missing.json()["error"].replace(str(2**40), "N")
