"""Forms get double-submit protection: a form's one-time token makes a double click or a browser
retry of the same submission land where the first one went, instead of doing the work twice."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.factories import logged_in
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.core


def token_in(page: str) -> str:
    return re.search(r'name="form_token" value="([0-9a-f]{32})"', page).group(1)


def test_a_reply_sent_twice_with_one_token_is_written_once(alice, agent):
    ticket = factories.open_ticket(customer=alice)
    client = logged_in(agent)
    token = token_in(client.get(f"/desk/tickets/{ticket.reference}/").content.decode())
    form = {"body": "We are on it.", "public": "1", "form_token": token}
    first = client.post(f"/desk/tickets/{ticket.reference}/comment/", form)
    again = client.post(f"/desk/tickets/{ticket.reference}/comment/", form)
    assert first.status_code == again.status_code == 302 and again["Location"] == first["Location"]
    assert ticket.events.filter(kind=TicketEvent.Kind.REPLY).count() == 1
    # A new page, a new token: the next reply is its own.
    token = token_in(client.get(f"/desk/tickets/{ticket.reference}/").content.decode())
    client.post(f"/desk/tickets/{ticket.reference}/comment/", {**form, "form_token": token})
    assert ticket.events.filter(kind=TicketEvent.Kind.REPLY).count() == 2


def test_a_customer_double_clicking_send_opens_one_ticket(alice):
    client = logged_in(alice.user)
    token = token_in(client.get("/my/tickets/new/").content.decode())
    form = {
        "subscription": alice.subscriptions.get().pk,
        "category": "technical",
        "subject": "No TV",
        "description": "The box restarts.",
        "form_token": token,
    }
    first = client.post("/my/tickets/new/", form)
    again = client.post("/my/tickets/new/", form)
    assert first.status_code == 302 and again["Location"] == first["Location"]
    assert Ticket.objects.filter(customer=alice, subject="No TV").count() == 1


def test_a_refused_form_keeps_its_token_for_the_corrected_submission(alice):
    client = logged_in(alice.user)
    token = token_in(client.get("/my/tickets/new/").content.decode())
    form = {"subscription": alice.subscriptions.get().pk, "category": "technical", "form_token": token}
    refused = client.post("/my/tickets/new/", {**form, "subject": "", "description": ""})
    assert refused.status_code in (200, 400)
    fixed = client.post("/my/tickets/new/", {**form, "subject": "No TV", "description": "The box restarts."})
    assert fixed.status_code == 302
    assert Ticket.objects.filter(customer=alice, subject="No TV").count() == 1
