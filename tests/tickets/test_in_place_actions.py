"""The ticket page's actions in place: with htmx (``HX-Request``) take it, status, note, reply and
escalate answer with the re-rendered working area (no redirect, so no jump to the top); without JS
the same forms post and redirect back. The ticket comes first on the page, incident context aside."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests import factories
from tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.django_db]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def ticket(db):
    return factories.open_ticket(subject="Router blinks red")


def url(name: str, ticket: Ticket) -> str:
    return reverse(f"tickets:{name}", args=[ticket.reference])


def test_taking_a_ticket_in_place_returns_the_working_area_not_a_redirect(client, agent, ticket):
    client.force_login(agent)
    response = client.post(url("claim", ticket), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="ticket-work"')
    assert "<html" not in html  # a fragment, not the page
    assert re.search(r'data-testid="ticket-assignee">anna<', html)
    assert "Release" in html and "You have it now." in html
    ticket.refresh_from_db()
    assert ticket.assignee == agent


def test_a_note_in_place_is_internal_and_appears_in_the_timeline(client, agent, ticket):
    client.force_login(agent)
    html = client.post(url("comment", ticket), {"body": "Checked the line: fine."}, **HTMX).content.decode()
    assert "Checked the line: fine." in html and "Internal note added." in html
    event = ticket.events.get(kind=TicketEvent.Kind.NOTE)
    assert event.public is False


def test_a_reply_in_place_goes_to_the_customer(client, agent, ticket):
    client.force_login(agent)
    html = client.post(
        url("comment", ticket), {"body": "Try the reset button.", "public": "1"}, **HTMX
    ).content.decode()
    assert "Sent to the customer." in html
    assert ticket.events.get(kind=TicketEvent.Kind.REPLY).public is True


def test_an_empty_note_keeps_the_box_and_says_why(client, agent, ticket):
    client.force_login(agent)
    html = client.post(url("comment", ticket), {"body": ""}, **HTMX).content.decode()
    assert "The message was empty or too long" in html
    assert not ticket.events.filter(kind__in=[TicketEvent.Kind.NOTE, TicketEvent.Kind.REPLY]).exists()


def test_setting_the_status_in_place(client, agent, ticket):
    client.force_login(agent)
    html = client.post(url("set_status", ticket), {"status": "pending-customer"}, **HTMX).content.decode()
    assert 'data-testid="ticket-status">Waiting for customer<' in html
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING_CUSTOMER


def test_escalating_in_place_also_removes_the_escalation_panel_out_of_band(client, agent, ticket):
    client.force_login(agent)
    data = {"summary": "No sync on the line", "tried": "Restarted the modem"}
    html = client.post(url("escalate", ticket), data, **HTMX).content.decode()
    assert "Escalated to second line." in html
    assert '<div id="escalate-panel" hx-swap-oob="true">' in html
    assert "<details" not in html.split('id="escalate-panel"')[1]  # nothing left to escalate
    ticket.refresh_from_db()
    assert ticket.queue == Ticket.Queue.SECOND_LINE


def test_a_refused_escalation_in_place_keeps_the_typed_hand_over(client, agent, ticket):
    client.force_login(agent)
    html = client.post(url("escalate", ticket), {"summary": "Half a hand-over"}, **HTMX).content.decode()
    assert "Say what is wrong and what was already tried" in html
    assert 'value="Half a hand-over"' in html
    ticket.refresh_from_db()
    assert ticket.queue == Ticket.Queue.FIRST_LINE


def test_without_js_the_same_forms_post_and_redirect_back(client, agent, ticket):
    client.force_login(agent)
    response = client.post(url("claim", ticket))
    assert response.status_code == 302 and response.url == url("detail", ticket)
    response = client.post(url("comment", ticket), {"body": "Plain post."}, follow=True)
    assert "Internal note added." in response.content.decode()
    assert ticket.events.filter(kind=TicketEvent.Kind.NOTE).count() == 1


def test_the_ticket_comes_first_and_incident_context_is_aside(client, agent, ticket):
    client.force_login(agent)
    html = client.get(url("detail", ticket)).content.decode()
    main = html.index('class="ticket-main"')
    assert main < html.index('id="ticket-work"') < html.index('class="ticket-context"')
    assert html.index("reply-box") < html.index('class="ticket-context"')
    # The incidents panel (filled by incidents) sits in the aside, not above the ticket.
    assert html.index('class="ticket-context"') < html.index('id="ticket-incidents"')


def test_in_place_actions_are_for_staff_only(client, alice, ticket):
    client.force_login(alice.user)
    assert client.post(url("claim", ticket), **HTMX).status_code == 403


def test_a_reply_in_place_is_kept_although_its_form_carries_a_one_time_token(client, agent, ticket):
    """The double-submit guard replays redirects; in place the answer is a fragment, which must not
    be taken for a refusal (and rolled back)."""
    client.force_login(agent)
    data = {"body": "Kept.", "form_token": "t-1"}
    assert client.post(url("comment", ticket), data, **HTMX).status_code == 200
    assert ticket.events.filter(kind=TicketEvent.Kind.NOTE, body="Kept.").count() == 1


def test_without_js_a_double_submitted_note_is_written_once(client, agent, ticket):
    client.force_login(agent)
    data = {"body": "Once.", "form_token": "t-2"}
    first = client.post(url("comment", ticket), data)
    second = client.post(url("comment", ticket), data)
    assert first.status_code == second.status_code == 302
    assert ticket.events.filter(kind=TicketEvent.Kind.NOTE, body="Once.").count() == 1
