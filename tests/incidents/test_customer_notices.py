"""What a signed-in customer sees of incidents: an outage notice on top of My tickets (public message,
ETA on their own clock with the zone named), and on a ticket page the ticket first, then the updates."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.urls import reverse

from core import roles
from incidents.services import incident_post_update
from tests import factories
from tests.conftest import make_user
from tests.factories import declare_incident

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ETA = datetime(2026, 12, 1, 13, 30, tzinfo=dt_timezone.utc)  # 14:30 Stockholm, 15:30 Helsinki


def _signed_in(client, customer):
    customer.user = make_user(f"u{customer.number}", roles.CUSTOMER)
    customer.save()
    client.force_login(customer.user)


@pytest.mark.parametrize(
    "language,clock,zone",
    [("sv", "14:30 CET", "Europe/Stockholm"), ("fi", "klo 15.30 EET", "Europe/Helsinki")],
)
def test_my_tickets_opens_with_the_outage_covering_the_customers_subscription(
    client, catalogue, ops, language, clock, zone
):
    sub = factories.SubscriptionFactory(
        service=catalogue.email, area=catalogue.solna, customer__language=language
    )
    declare_incident(
        actor=ops,
        services=[catalogue.email],
        areas=[catalogue.stockholm],
        eta=ETA,
        public_message={"sv": "E-posten ligger nere.", "fi": "Sähköposti ei toimi."},
    )
    _signed_in(client, sub.customer)
    body = client.get(reverse("tickets:my_tickets")).content.decode()
    message = {"sv": "E-posten ligger nere.", "fi": "Sähköposti ei toimi."}[language]
    assert message in body
    main = body[body.index("<main") :]
    assert main.index(message) < main.index("<h1")  # on top, before the greeting and the list
    assert f"{clock} ({zone})" in body


def test_my_tickets_has_no_notice_when_no_incident_covers_the_customer(client, catalogue, ops):
    sub = factories.SubscriptionFactory(service=catalogue.iptv, area=catalogue.hisingen)
    declare_incident(
        actor=ops, services=[catalogue.email], areas=[catalogue.stockholm], public_message={"sv": "Nere."}
    )
    _signed_in(client, sub.customer)
    assert "Nere." not in client.get(reverse("tickets:my_tickets")).content.decode()


def test_ticket_page_shows_the_ticket_first_then_the_incidents_public_updates(
    client, catalogue, ops, ticket_in
):
    ticket = ticket_in(service=catalogue.email, subject="Ingen post kommer fram")
    incident = declare_incident(
        actor=ops, services=[catalogue.email], public_message={"sv": "Nere."}
    ).incident
    incident_post_update(incident=incident, actor=ops, message={"sv": "Vi byter en server."}, public=True)
    incident_post_update(incident=incident, actor=ops, message={"sv": "Intern anteckning"}, public=False)
    _signed_in(client, ticket.customer)
    body = client.get(reverse("tickets:my_ticket", args=[ticket.reference])).content.decode()
    assert body.index("Ingen post kommer fram") < body.index("Vi byter en server.")
    assert "Intern anteckning" not in body


def test_a_customer_closes_their_own_ticket_but_not_anothers(client, catalogue, ticket_in):
    mine = ticket_in(service=catalogue.email)
    theirs = ticket_in(service=catalogue.email)
    _signed_in(client, mine.customer)
    response = client.post(reverse("tickets:my_ticket_close", args=[mine.reference]))
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.status == "closed"
    assert mine.events.filter(kind="status", public=True).exists()
    assert client.post(reverse("tickets:my_ticket_close", args=[theirs.reference])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status != "closed"


def test_the_contact_form_says_we_already_know_about_the_chosen_subscriptions_outage(client, catalogue, ops):
    sub = factories.SubscriptionFactory(service=catalogue.email, area=catalogue.solna)
    other = factories.SubscriptionFactory(service=catalogue.iptv, area=catalogue.solna, customer=sub.customer)
    strangers = factories.SubscriptionFactory(service=catalogue.email, area=catalogue.solna)
    declare_incident(
        actor=ops,
        services=[catalogue.email],
        areas=[catalogue.stockholm],
        eta=ETA,
        public_message={"sv": "E-posten ligger nere."},
    )
    _signed_in(client, sub.customer)
    form = client.get(reverse("tickets:new_ticket")).content.decode()
    assert reverse("tickets:new_ticket_known") in form and 'id="known-problems"' in form
    known = reverse("tickets:new_ticket_known")
    body = client.get(known, {"subscription": sub.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "E-posten ligger nere." in body and "14:30 CET (Europe/Stockholm)" in body
    assert "E-posten ligger nere." not in client.get(known, {"subscription": other.pk}).content.decode()
    # Another customer's subscription, or nonsense: nothing, never an error.
    for value in (strangers.pk, "x", "", "١"):
        response = client.get(known, {"subscription": value})
        assert response.status_code == 200 and "E-posten" not in response.content.decode()
