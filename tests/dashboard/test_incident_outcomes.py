"""The dashboard's figures for what incidents did for customers: tickets resolved by their incident's
resolution (the close-the-loop), customers notified, and credits issued — on known data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard import selectors
from incidents.models import CompensationPolicy
from incidents.services import incident_resolve
from notifications.models import Notification
from tests import factories
from tickets.models import Ticket
from tickets.services import ticket_set_keep_open

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]  # the close-the-loop locks with SKIP LOCKED


@pytest.fixture
def resolved(catalogue, ticket_in, ops, django_capture_on_commit_callbacks):
    """An e-mail outage in Stockholm for two hours: three linked tickets (one kept open), one ticket
    elsewhere; 50 SEK per started day for private e-mail. Resolved, and the loop closed."""
    CompensationPolicy.objects.create(
        service=catalogue.email, plan="private", min_outage_minutes=60,
        amount_per_day=Decimal("50.00"), currency="SEK",
    )  # fmt: skip
    CompensationPolicy.objects.create(
        service=catalogue.iptv, plan="private", min_outage_minutes=0,
        amount_per_day=Decimal("4.50"), currency="EUR",
    )  # fmt: skip
    closed = [ticket_in(service=catalogue.email, area=catalogue.solna) for _ in range(2)]
    kept = ticket_in(service=catalogue.email, area=catalogue.taby)
    elsewhere = ticket_in(service=catalogue.email, area=catalogue.hisingen)
    ticket_set_keep_open(ticket=kept, keep_open=True, actor=ops)
    tv = factories.SubscriptionFactory(service=catalogue.iptv, area=catalogue.hisingen, plan="private")
    with django_capture_on_commit_callbacks(execute=True):
        mail = factories.declare_incident(
            actor=ops, title="Mail down", services=[catalogue.email], areas=[catalogue.stockholm],
            started_at=timezone.now() - timedelta(hours=2),
        ).incident  # fmt: skip
        television = factories.declare_incident(
            actor=ops, title="IPTV down", services=[catalogue.iptv], areas=[catalogue.goteborg],
            started_at=timezone.now() - timedelta(hours=1),
        ).incident  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=mail, actor=ops)
        incident_resolve(incident=television, actor=ops)
    return closed, kept, elsewhere, tv


def test_tickets_closed_by_the_resolution_are_counted_and_kept_ones_are_not(resolved):
    closed, kept, elsewhere, _tv = resolved
    assert set(Ticket.objects.filter(status="resolved").values_list("pk", flat=True)) == {
        t.pk for t in closed
    }
    h = selectors.dashboard(selectors.window_for("today")).headline
    assert h.resolved_by_incident == 2


def test_a_ticket_reopened_and_resolved_by_a_person_no_longer_counts(resolved):
    closed, *_rest = resolved
    Ticket.objects.filter(pk=closed[0].pk).update(resolved_at=timezone.now() + timedelta(minutes=5))
    assert selectors.dashboard(selectors.window_for("today")).headline.resolved_by_incident == 1


def test_customers_notified_counts_each_customer_once_and_only_sent_mail(resolved, catalogue):
    closed, kept, elsewhere, tv = resolved
    sent = Notification.objects.filter(state=Notification.State.SENT, incident__isnull=False)
    # The e-mail outage told the three Stockholm customers (declared, then resolved: two e-mails
    # each), the IPTV one its one customer.
    told = {closed[0].customer_id, closed[1].customer_id, kept.customer_id, tv.customer_id}
    assert set(sent.values_list("customer_id", flat=True)) == told
    assert sent.count() > len(told)
    # A pending or failed e-mail has told nobody yet; one sent before the window is not counted.
    Notification.objects.filter(customer_id=tv.customer_id).update(state=Notification.State.FAILED)
    Notification.objects.filter(customer_id=kept.customer_id).update(
        sent_at=timezone.now() - timedelta(days=9)
    )
    assert selectors.dashboard(selectors.window_for("today")).headline.customers_notified == 2
    assert selectors.dashboard(selectors.window_for("30d")).headline.customers_notified == 3


def test_credits_are_summed_per_currency(resolved):
    h = selectors.dashboard(selectors.window_for("today")).headline
    # Three private e-mail subscriptions in Stockholm, one started day each; one IPTV in Göteborg.
    assert [(c.currency, c.count, c.amount) for c in h.credits] == [
        ("EUR", 1, Decimal("4.50")),
        ("SEK", 3, Decimal("150.00")),
    ]


def test_the_page_shows_the_three_figures(client, ops, resolved):
    client.force_login(ops)
    html = client.get(reverse("dashboard:page"), {"range": "today"}).content.decode()
    assert "Tickets resolved with their incident" in html
    assert "150 SEK" in html and "3 credits" in html
    assert "Customers notified of an incident" in html


def test_nothing_happened_shows_zeros(db):
    h = selectors.dashboard(selectors.window_for("today")).headline
    assert (h.resolved_by_incident, h.customers_notified, h.credits) == (0, 0, [])
