"""Every tickets page says who may use it: the allowed role gets in, the others are refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.core]


@pytest.fixture
def ticket(alice):
    return factories.open_ticket(customer=alice)


STAFF_GET = [
    ("tickets:queue", False),
    ("tickets:escalations", False),
    ("tickets:lookup", False),
    ("tickets:detail", True),
]
STAFF_POST = ["tickets:comment", "tickets:set_status", "tickets:claim", "tickets:escalate"]
CUSTOMER_GET = [("tickets:my_tickets", False), ("tickets:new_ticket", False), ("tickets:my_ticket", True)]


def _url(name, with_ref, ticket):
    return reverse(name, args=[ticket.reference]) if with_ref else reverse(name)


@pytest.mark.parametrize("name,with_ref", STAFF_GET)
@pytest.mark.parametrize("persona", ["agent", "tech", "ops"])
def test_staff_pages_open_for_staff(client, request, ticket, persona, name, with_ref):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(_url(name, with_ref, ticket)).status_code == 200


@pytest.mark.parametrize("name,with_ref", STAFF_GET)
@pytest.mark.parametrize("persona", ["alice", "outsider"])
def test_staff_pages_refuse_customers_and_outsiders(client, request, ticket, persona, name, with_ref):
    who = request.getfixturevalue(persona)
    client.force_login(getattr(who, "user", who))
    assert client.get(_url(name, with_ref, ticket)).status_code == 403


@pytest.mark.parametrize("name", STAFF_POST)
def test_staff_actions_refuse_a_customer_even_on_her_own_ticket(client, alice, ticket, name):
    client.force_login(alice.user)
    response = client.post(
        reverse(name, args=[ticket.reference]),
        {"body": "x", "status": "closed", "summary": "s", "tried": "t"},
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "new" and ticket.queue == "first-line"
    assert ticket.events.count() == 1


@pytest.mark.parametrize("name", STAFF_POST)
def test_staff_actions_refuse_get(client, agent, ticket, name):
    client.force_login(agent)
    assert client.get(reverse(name, args=[ticket.reference])).status_code == 405


@pytest.mark.parametrize("name,with_ref", CUSTOMER_GET)
def test_customer_pages_open_for_the_customer(client, alice, ticket, name, with_ref):
    client.force_login(alice.user)
    assert client.get(_url(name, with_ref, ticket)).status_code == 200


@pytest.mark.parametrize("name,with_ref", CUSTOMER_GET)
def test_customer_pages_refuse_staff(client, agent, ticket, name, with_ref):
    client.force_login(agent)
    assert client.get(_url(name, with_ref, ticket)).status_code == 403


def test_a_customer_cannot_reply_on_another_customers_ticket(client, bob, ticket):
    client.force_login(bob.user)
    response = client.post(reverse("tickets:my_ticket_reply", args=[ticket.reference]), {"body": "Hi"})
    assert response.status_code == 404
    assert ticket.events.count() == 1


def test_an_unknown_reference_is_a_404_for_staff(client, agent):
    client.force_login(agent)
    assert client.get(reverse("tickets:detail", args=["SD-999999"])).status_code == 404
    assert client.get(reverse("tickets:detail", args=["nonsense"])).status_code == 404
