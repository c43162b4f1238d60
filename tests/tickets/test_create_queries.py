"""Opening a ticket costs a fixed number of queries on every path — the customer's form, the agent's
form and the API — with 100 active incidents, whether it links to none of them or to several; and
what it must do is still done: the links, the confirmation e-mail row, the double-submit token, the
Idempotency-Key, and an API answer equal to what reading the ticket back gives."""

from __future__ import annotations

import pytest
from django.db import connection

from core.models import IdempotencyKey
from incidents.models import Incident, IncidentTicketLink
from notifications.models import Notification
from tests import factories
from tests.factories import logged_in
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

# The shared matching lock is taken on PostgreSQL only (SQLite has one writer).
LOCK = 1 if connection.vendor == "postgresql" else 0

# Reading who asks: the session, the user, the user's roles.
WHO = 3
# A form's transaction (the double-submit token's) is a savepoint inside the test's: SAVEPOINT and
# RELEASE here, BEGIN and COMMIT (not counted) when served.
TXN = 2
# Opening it: the ticket, its opened entry, the matching candidates (after the lock), the links, the
# confirmation e-mail row.
WRITES = 2 + LOCK + 1 + 1 + 1
# The customer's form: the token (claimed, then its redirect stored), the customer, the subscription
# picked.
PORTAL = WHO + TXN + 2 + 1 + 1 + WRITES
# The agent's form: the token, the customer, the subscription (a confirmation row only when asked
# for one: asked here).
STAFF = WHO + TXN + 2 + 1 + 1 + WRITES
# The API, staff with a session (no transaction around it but the service's own): the customer by
# number, the customer's subscriptions (the words pick one), and the links read for the answer.
API = WHO + 1 + 1 + WRITES + 1


class Incidents:
    """100 active incidents; ``covering`` are the three that explain a broadband ticket of Alice's."""

    def __init__(self, ops, alice):
        sub = alice.subscriptions.get()
        other_services = [factories.ServiceFactory(code=code) for code in ("email", "iptv", "voip")]
        elsewhere = [factories.AreaFactory(code=f"se-elsewhere-{n}") for n in range(8)]
        declare = factories.declare_incident
        covering = [
            declare(
                actor=ops, title="Fibre down in the region", services=[sub.service], areas=[sub.area.parent]
            ),
            declare(actor=ops, title="Fibre flapping in the town", services=[sub.service], areas=[sub.area]),
            declare(actor=ops, title="Modem firmware", kind="known-issue", equipment=[sub.equipment]),
        ]
        self.covering = {result.incident.pk for result in covering}
        # 97 more elsewhere, as rows: declaring each through the service would only add setup time
        # (matching reads the rows and their scope, whoever wrote them).
        others = Incident.objects.bulk_create(
            Incident(title=f"Elsewhere {n}", kind="outage", severity=2, created_by=ops) for n in range(97)
        )
        Incident.services.through.objects.bulk_create(
            Incident.services.through(incident=i, service=other_services[n % 3]) for n, i in enumerate(others)
        )
        Incident.areas.through.objects.bulk_create(
            Incident.areas.through(incident=i, area=elsewhere[n % 8]) for n, i in enumerate(others)
        )
        assert Incident.objects.active().count() == 100


@pytest.fixture
def incidents(ops, alice) -> Incidents:
    return Incidents(ops, alice)


def linked(ticket: Ticket) -> set[int]:
    return set(IncidentTicketLink.objects.filter(ticket=ticket).values_list("incident_id", flat=True))


def confirmation_queued(ticket: Ticket) -> bool:
    return Notification.objects.filter(ticket=ticket, kind=Notification.Kind.TICKET_CONFIRMATION).exists()


def portal_form(alice, token: str, **fields) -> dict:
    return {
        "subscription": alice.subscriptions.order_by("pk").first().pk,
        "category": "technical",
        "subject": "Fibre is down",
        "description": "No light on the box since the morning.",
        "form_token": token,
        **fields,
    }


def test_the_customers_form_opens_a_linked_ticket_in_fixed_queries(
    alice, incidents, django_assert_num_queries
):
    client = logged_in(alice.user)
    client.post("/my/tickets/new/", portal_form(alice, "warm-up"))  # a running server's caches
    form = portal_form(alice, "t-1")
    with django_assert_num_queries(PORTAL):
        response = client.post("/my/tickets/new/", form)
    ticket = Ticket.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == f"/my/tickets/{ticket.reference}/"
    assert linked(ticket) == incidents.covering
    assert confirmation_queued(ticket)
    # The same submission again (a double click): where the first went, nothing opened.
    again = client.post("/my/tickets/new/", form)
    assert again["Location"] == response["Location"]
    assert Ticket.objects.filter(customer=alice).count() == 2


def test_a_ticket_no_incident_explains_costs_one_query_less(alice, incidents, django_assert_num_queries):
    """The link rows are the one write that depends on matching: nothing linked, nothing inserted."""
    tv = factories.SubscriptionFactory(
        customer=alice, service=factories.ServiceFactory(code="iptv"), area=alice.subscriptions.get().area
    )
    client = logged_in(alice.user)
    client.post("/my/tickets/new/", portal_form(alice, "warm-up", subscription=tv.pk))
    form = portal_form(alice, "t-2", subscription=tv.pk, subject="No TV", description="The box restarts.")
    with django_assert_num_queries(PORTAL - 1):
        response = client.post("/my/tickets/new/", form)
    assert response.status_code == 302
    ticket = Ticket.objects.latest("pk")
    assert ticket.subscription == tv and linked(ticket) == set()
    assert confirmation_queued(ticket)


def test_the_agents_form_opens_a_linked_ticket_in_fixed_queries(
    alice, agent, incidents, django_assert_num_queries
):
    client = logged_in(agent)
    form = {
        "subscription": alice.subscriptions.get().pk,
        "category": "technical",
        "channel": "phone",
        "priority": "3",
        "subject": "Fibre is down",
        "description": "Called in: no light on the box.",
        "notify_customer": "on",
        "duplicate_ok": "1",
    }
    client.post(f"/desk/customers/{alice.number}/tickets/", {**form, "form_token": "warm-up"})
    with django_assert_num_queries(STAFF):
        response = client.post(f"/desk/customers/{alice.number}/tickets/", {**form, "form_token": "s-1"})
    ticket = Ticket.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == f"/desk/tickets/{ticket.reference}/"
    assert (ticket.channel, ticket.priority) == ("phone", 3)
    assert linked(ticket) == incidents.covering
    assert confirmation_queued(ticket)


def test_the_agents_form_still_shows_open_duplicates_first(alice, agent, incidents):
    client = logged_in(agent)
    form = {
        "subscription": alice.subscriptions.get().pk,
        "category": "technical",
        "channel": "phone",
        "priority": "2",
        "subject": "Fibre is down",
        "description": "Called in.",
    }
    assert client.post(f"/desk/customers/{alice.number}/tickets/", form).status_code == 302
    shown = client.post(f"/desk/customers/{alice.number}/tickets/", form)
    assert shown.status_code == 409
    assert Ticket.objects.filter(customer=alice).count() == 1


def api_body(alice, **extra) -> dict:
    # No subscription named: Alice has two, and the words ("fibre") pick the broadband one.
    return {"customer": alice.number, "subject": "Fibre down", "description": "No light on the box", **extra}


def test_the_api_opens_a_linked_ticket_in_fixed_queries_and_answers_what_a_read_gives(
    alice, agent, incidents, django_assert_num_queries
):
    factories.SubscriptionFactory(customer=alice, service=factories.ServiceFactory(code="iptv"))
    client = logged_in(agent)
    body = api_body(alice)
    client.post("/api/v1/tickets/", body, content_type="application/json")
    with django_assert_num_queries(API):
        response = client.post("/api/v1/tickets/", body, content_type="application/json")
    assert response.status_code == 201
    ticket = Ticket.objects.latest("pk")
    assert ticket.service.code == "broadband" and ticket.service_source == "text"
    assert linked(ticket) == incidents.covering
    assert confirmation_queued(ticket)
    read = client.get(f"/api/v1/tickets/{ticket.reference}/")
    assert response.json() == read.json()
    assert {i["id"] for i in response.json()["incidents"]} == incidents.covering


def test_a_customers_api_answer_is_their_view_of_the_ticket(alice, incidents):
    client = logged_in(alice.user)
    response = client.post("/api/v1/tickets/", api_body(alice), content_type="application/json")
    assert response.status_code == 201
    read = client.get(f"/api/v1/tickets/{response.json()['reference']}/")
    assert response.json() == read.json()
    assert "assignee" not in response.json()


def test_an_api_retry_with_the_same_key_opens_once_and_replays(alice, agent, incidents):
    client = logged_in(agent)
    first = client.post(
        "/api/v1/tickets/", api_body(alice), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = client.post(
        "/api/v1/tickets/", api_body(alice), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Ticket.objects.filter(customer=alice).count() == 1
    assert IdempotencyKey.objects.filter(user=agent, key="k-1").count() == 1
