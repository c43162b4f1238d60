"""GET /api/v1/tickets/{reference}/comments/: the conversation, so an integrator sees what the
customer was told — public replies and customer messages; internal notes for staff only."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests import factories
from tickets.services import ticket_comment

pytestmark = pytest.mark.postgres


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def conversation(alice, agent):
    """Alice's ticket: her description, a reply, an internal note, and her answer."""
    ticket = factories.open_ticket(customer=alice, actor=alice.user, description="My fibre is dead")
    ticket_comment(ticket=ticket, actor=agent, body="Have you restarted the box?", public=True)
    ticket_comment(ticket=ticket, actor=agent, body="SECRET: suspect the exchange", public=False)
    ticket_comment(ticket=ticket, actor=alice.user, body="Yes, twice", public=True)
    return ticket


def url(ticket) -> str:
    return f"/api/v1/tickets/{ticket.reference}/comments/"


def test_the_customer_reads_the_public_conversation_of_their_own_ticket(conversation, alice):
    response = client_for(alice.user).get(url(conversation))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(c["kind"], c["body"]) for c in results] == [
        ("opened", "My fibre is dead"),
        ("reply", "Have you restarted the box?"),
        ("customer-message", "Yes, twice"),
    ]
    assert results[1]["author"] == "Anna Agent"
    assert all(c["public"] for c in results)


def test_staff_also_read_the_internal_notes(conversation, tech):
    results = client_for(tech).get(url(conversation)).json()["results"]
    notes = [c for c in results if c["kind"] == "note"]
    assert [(n["body"], n["public"]) for n in notes] == [("SECRET: suspect the exchange", False)]
    assert len(results) == 4


def test_a_customer_cannot_read_another_customers_conversation(conversation, bob):
    response = client_for(bob.user).get(url(conversation))
    assert response.status_code == 404
    assert "SECRET" not in response.content.decode()


def test_outsiders_and_anonymous_users_are_refused(conversation, outsider):
    assert client_for(outsider).get(url(conversation)).status_code == 403
    assert client_for().get(url(conversation)).status_code in (401, 403)


def test_an_unknown_reference_is_a_404(agent):
    assert client_for(agent).get("/api/v1/tickets/SD-999999/comments/").status_code == 404
    assert client_for(agent).get("/api/v1/tickets/nonsense/comments/").status_code == 404


def test_the_conversation_is_paged_by_cursor_with_a_bounded_page_size(alice, agent):
    ticket = factories.open_ticket(customer=alice)
    for n in range(7):
        ticket_comment(ticket=ticket, actor=agent, body=f"reply {n}", public=True)
    client = client_for(agent)
    first = client.get(url(ticket), {"page_size": 5}).json()
    assert len(first["results"]) == 5 and first["next"]
    second = client.get(first["next"]).json()
    assert [c["body"] for c in second["results"]] == ["reply 4", "reply 5", "reply 6"]
    assert second["next"] is None
    assert client.get(url(ticket), {"page_size": 100000}).status_code == 400  # over 200: refused
    assert len(client.get(url(ticket), {"page_size": 200}).json()["results"]) == 8
    bad_cursor = client.get(url(ticket), {"cursor": "not-a-cursor"})
    assert bad_cursor.status_code == 400 and "cursor" in bad_cursor.json()["fields"]


@pytest.mark.parametrize("replies", [2, 30])
def test_the_page_takes_the_same_queries_whatever_its_length(
    alice, agent, replies, django_assert_num_queries
):
    ticket = factories.open_ticket(customer=alice)
    for n in range(replies):
        ticket_comment(ticket=ticket, actor=agent if n % 2 else alice.user, body=f"message {n}", public=True)
    client = client_for(alice.user)
    # The ticket (scoped to its customer), one page of messages with their authors, and the page's
    # files (one query whatever the number). (The user's roles were read once already on this user
    # object; a real request adds that one query.)
    with django_assert_num_queries(3):
        response = client.get(url(ticket))
    assert len(response.json()["results"]) == replies + 1
