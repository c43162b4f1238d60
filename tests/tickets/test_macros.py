"""Canned replies: written per language in admin (placeholders checked), picked in the reply box,
filled for the ticket in the customer's language — the fault's ETA on the customer's clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests import factories
from tests.factories import logged_in
from tickets.models import Macro, TicketEvent

pytestmark = pytest.mark.core

TEXTS = {
    "sv": "Hej {customer_name}! Felet ({incident_title}) väntas vara åtgärdat {incident_eta}. /{agent_name}, {reference}",
    "en": "Hello {customer_name}, the fault ({incident_title}) should be fixed {incident_eta}. /{agent_name}, {reference}",
}


def test_an_admin_writes_a_canned_reply_per_language_and_a_bad_placeholder_is_refused(admin_user):
    # The admin role (not a superuser) may manage models added after its group was made.
    client = logged_in(admin_user)
    form = {
        "name": "Outage known",
        "active": "on",
        "text_sv": TEXTS["sv"],
        "text_fi": "",
        "text_en": TEXTS["en"],
    }
    refused = client.post("/admin/tickets/macro/add/", {**form, "text_en": "Hi {custmer_name}"})
    assert refused.status_code == 200
    assert "Unknown placeholder: {custmer_name}." in refused.content.decode()
    assert not Macro.objects.exists()
    assert client.post("/admin/tickets/macro/add/", {**form, "text_sv": "", "text_en": ""}).status_code == 200
    assert not Macro.objects.exists(), "a reply in no language is refused"

    assert client.post("/admin/tickets/macro/add/", form).status_code == 302
    assert Macro.objects.get().texts == TEXTS


def test_the_reply_box_fills_a_canned_reply_for_the_ticket_in_the_customers_language(alice, agent, ops):
    subscription = alice.subscriptions.get()
    eta = datetime(2026, 12, 1, 16, 30, tzinfo=ZoneInfo("Europe/Stockholm"))
    factories.declare_incident(
        actor=ops,
        title="Fibre cut in Solna",
        services=[subscription.service],
        areas=[subscription.area],
        eta=eta,
    )
    ticket = factories.open_ticket(customer=alice, subscription=subscription)
    macro = Macro.objects.create(name="Outage known", texts=TEXTS)
    agent.first_name, agent.last_name = "Anna", "Andersson"
    agent.save()
    client = logged_in(agent)
    page = client.get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert f'<option value="{macro.pk}">Outage known</option>' in page

    box = client.get(f"/desk/tickets/{ticket.reference}/macro/", {"macro": macro.pk}).content.decode()
    assert 'name="body"' in box and 'id="id_body"' in box
    assert "Hej Alice Andersson! Felet (Fibre cut in Solna) väntas vara åtgärdat 1 december 16:30 CET." in box
    assert f"/Anna Andersson, {ticket.reference}" in box

    # Sent as the agent's public reply, it is what the customer reads.
    text = "Hej Alice Andersson! Felet (Fibre cut in Solna) väntas vara åtgärdat 1 december 16:30 CET."
    client.post(f"/desk/tickets/{ticket.reference}/comment/", {"body": text, "public": "1"})
    assert ticket.events.get(kind=TicketEvent.Kind.REPLY, public=True).body == text


def test_no_eta_yet_reads_as_such_and_an_unknown_or_inactive_macro_leaves_the_box_empty(bob, agent):
    ticket = factories.open_ticket(customer=bob)  # Finnish, no incident
    macro = Macro.objects.create(
        name="Known", texts={"fi": "Korjattu {incident_eta}.", "en": "Fixed {incident_eta}."}
    )
    client = logged_in(agent)
    box = client.get(f"/desk/tickets/{ticket.reference}/macro/", {"macro": macro.pk}).content.decode()
    assert "Korjattu " in box and "{incident_eta}" not in box
    inactive = Macro.objects.create(name="Old", texts={"en": "Old text"}, active=False)
    for value in (inactive.pk, 999999, "x", "¹"):
        box = client.get(f"/desk/tickets/{ticket.reference}/macro/", {"macro": value}).content.decode()
        assert "Old text" not in box and 'name="body"' in box
