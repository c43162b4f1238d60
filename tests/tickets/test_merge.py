"""Duplicates: an agent opening a second ticket about the same thing is shown the open one first;
a duplicate is merged into the ticket kept — timeline moved, duplicate closed pointing at it, the
customer told once, in their language."""

from __future__ import annotations

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from notifications.models import Notification
from tests import factories
from tests.factories import logged_in
from tickets import services
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.core


@pytest.fixture
def pair(alice):
    """Alice wrote twice about her broadband: the first ticket is kept, the second is the duplicate."""
    subscription = alice.subscriptions.get()
    kept = factories.open_ticket(customer=alice, subscription=subscription, subject="No internet")
    duplicate = factories.open_ticket(
        customer=alice,
        subscription=subscription,
        subject="Still no internet",
        description="Router blinks red.",
    )
    return kept, duplicate


def test_the_duplicate_is_shown_on_the_ticket_and_merged_with_its_timeline_and_one_message(
    pair, agent, alice
):
    kept, duplicate = pair
    client = logged_in(agent)
    page = client.get(f"/desk/tickets/{duplicate.reference}/").content.decode()
    assert f"Merge this ticket into {kept.reference}" in page
    version = Ticket.objects.get(pk=duplicate.pk).version
    replies_before = Notification.objects.filter(kind=Notification.Kind.TICKET_REPLY).count()

    response = client.post(
        f"/desk/tickets/{duplicate.reference}/merge/",
        {"into": kept.reference, "version": version},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == f"/desk/tickets/{kept.reference}/"
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into) == (Ticket.Status.CLOSED, kept)
    bodies = list(kept.events.values_list("body", flat=True))
    assert "Router blinks red." in bodies, "the duplicate's conversation is kept on the ticket kept"
    assert list(duplicate.events.values_list("kind", flat=True)) == [
        TicketEvent.Kind.STATUS,
        TicketEvent.Kind.MERGED,
    ]
    # Told once, in Swedish (Alice's language), naming both references.
    assert Notification.objects.filter(kind=Notification.Kind.TICKET_REPLY).count() == replies_before + 1
    reply = kept.events.get(kind=TicketEvent.Kind.REPLY)
    assert duplicate.reference in reply.body and "Vi har slagit ihop" in reply.body
    # The customer's old page points to the ticket kept.
    customer = logged_in(alice.user)
    old_page = customer.get(f"/my/tickets/{duplicate.reference}/").content.decode()
    assert f"/my/tickets/{kept.reference}/" in old_page


def test_merges_that_make_no_sense_are_refused_and_change_nothing(pair, agent, alice, bob):
    kept, duplicate = pair
    other_customers = factories.open_ticket(customer=bob)
    closed = factories.open_ticket(customer=alice)
    services.ticket_set_status(ticket=closed, status=Ticket.Status.CLOSED, actor=agent)
    for into, message in (
        (other_customers, "Only tickets of the same customer can be merged."),
        (closed, "Both tickets must be open to be merged."),
        (duplicate, "A ticket cannot be merged into itself."),
    ):
        with translation.override("en"), pytest.raises(services.DomainError, match=message):
            services.ticket_merge(ticket=duplicate, into=into, actor=agent)
    with pytest.raises(services.DomainError):
        services.ticket_merge(ticket=duplicate, into=kept, actor=alice.user)
    duplicate.refresh_from_db()
    assert duplicate.is_open and duplicate.merged_into is None


def test_the_api_merges_and_refuses_a_stale_if_match(pair, agent):
    kept, duplicate = pair
    api = APIClient()
    api.force_authenticate(agent)
    etag = api.get(f"/api/v1/tickets/{duplicate.reference}/")["ETag"]
    services.ticket_comment(ticket=duplicate, actor=agent, body="Called back.", public=False)

    stale = api.post(
        f"/api/v1/tickets/{duplicate.reference}/merge/",
        {"into": kept.reference},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert stale.status_code == 412

    merged = api.post(
        f"/api/v1/tickets/{duplicate.reference}/merge/", {"into": kept.reference}, format="json"
    )
    assert merged.status_code == 200 and merged.json()["reference"] == kept.reference
    assert (
        api.post(f"/api/v1/tickets/{duplicate.reference}/merge/", {"into": kept.reference}).status_code == 400
    )


def test_opening_a_second_ticket_about_the_same_service_shows_the_open_one_first(pair, agent, alice):
    kept, duplicate = pair
    client = logged_in(agent)
    form = {
        "subscription": alice.subscriptions.get().pk,
        "category": "technical",
        "channel": "phone",
        "priority": 2,
        "subject": "Calls about the outage",
        "description": "Third time today.",
    }
    before = Ticket.objects.count()
    warned = client.post(f"/desk/customers/{alice.number}/tickets/", form)
    assert warned.status_code == 409
    page = warned.content.decode()
    assert "This caller already has an open ticket about this" in page
    assert kept.reference in page and duplicate.reference in page
    assert "Third time today." in page, "what was typed is kept"
    assert Ticket.objects.count() == before

    client.post(f"/desk/customers/{alice.number}/tickets/", {**form, "duplicate_ok": "1"})
    assert Ticket.objects.count() == before + 1
