"""Staff mark a ticket "keep open" (page and API) so an incident's resolution replies to it but does
not resolve it; a ticket left open that way is flagged for its agent until someone acts on it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests import factories
from tests.factories import logged_in
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_comment, ticket_set_status, tickets_flag_for_attention

pytestmark = pytest.mark.postgres


@pytest.fixture
def ticket(alice) -> Ticket:
    return factories.open_ticket(customer=alice)


def test_an_agent_marks_it_keep_open_on_the_ticket_page_and_can_undo_it(ticket, agent):
    client = logged_in(agent)
    page = client.get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert "Keep open when an incident is resolved" in page
    client.post(f"/desk/tickets/{ticket.reference}/keep-open/", {"keep_open": "1"})
    ticket.refresh_from_db()
    assert ticket.keep_open
    note = ticket.events.get(kind=TicketEvent.Kind.NOTE)
    assert note.data == {"keep_open": True} and not note.public and note.actor == agent
    assert "Kept open" in client.get(f"/desk/tickets/{ticket.reference}/").content.decode()
    client.post(f"/desk/tickets/{ticket.reference}/keep-open/", {"keep_open": "0"})
    ticket.refresh_from_db()
    assert not ticket.keep_open


def test_customers_and_outsiders_cannot_mark_it(ticket, alice, outsider):
    assert (
        logged_in(alice.user)
        .post(f"/desk/tickets/{ticket.reference}/keep-open/", {"keep_open": "1"})
        .status_code
        == 403
    )
    assert (
        logged_in(outsider)
        .post(f"/desk/tickets/{ticket.reference}/keep-open/", {"keep_open": "1"})
        .status_code
        == 403
    )
    ticket.refresh_from_db()
    assert not ticket.keep_open


def test_staff_set_it_through_the_api_and_customers_cannot(ticket, tech, alice):
    api = APIClient()
    api.force_authenticate(tech)
    response = api.patch(f"/api/v1/tickets/{ticket.reference}/", {"keep_open": True}, format="json")
    assert response.status_code == 200
    assert response.json()["keep_open"] is True and response.json()["needs_attention"] is False
    api.force_authenticate(alice.user)
    assert (
        api.patch(f"/api/v1/tickets/{ticket.reference}/", {"keep_open": False}, format="json").status_code
        == 403
    )
    assert api.patch(
        f"/api/v1/tickets/{ticket.reference}/", {"keep_open": "maybe"}, format="json"
    ).status_code in (
        400,
        403,
    )
    ticket.refresh_from_db()
    assert ticket.keep_open


def test_a_bad_keep_open_value_is_a_clear_400(ticket, tech):
    api = APIClient()
    api.force_authenticate(tech)
    response = api.patch(f"/api/v1/tickets/{ticket.reference}/", {"keep_open": "maybe"}, format="json")
    assert response.status_code == 400
    assert "keep_open" in response.json()["fields"]


def test_a_flagged_ticket_shows_it_and_a_staff_reply_clears_the_flag(ticket, agent):
    tickets_flag_for_attention(ticket_ids=[ticket.pk])
    assert (
        "Needs your attention" in logged_in(agent).get(f"/desk/tickets/{ticket.reference}/").content.decode()
    )
    ticket.refresh_from_db()
    ticket_comment(ticket=ticket, actor=agent, body="Is it working now?", public=True)
    ticket.refresh_from_db()
    assert not ticket.needs_attention


def test_a_customer_message_does_not_clear_the_flag_but_a_status_change_does(ticket, alice, agent):
    tickets_flag_for_attention(ticket_ids=[ticket.pk])
    ticket.refresh_from_db()
    ticket_comment(ticket=ticket, actor=alice.user, body="Still broken", public=True)
    ticket.refresh_from_db()
    assert ticket.needs_attention
    ticket_set_status(ticket=ticket, status=Ticket.Status.RESOLVED, actor=agent)
    ticket.refresh_from_db()
    assert not ticket.needs_attention
