"""A customer's ticket page speaks in words and on their clock: status changes are named, not coded,
and times are in the zone of their profile language (Finnish: Europe/Helsinki) with the zone named."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from tests import factories
from tests.conftest import make_user
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_set_status

pytestmark = [pytest.mark.django_db, pytest.mark.core]


@pytest.fixture
def pekka(db):
    customer = factories.CustomerFactory(user=make_user("pekka", "customer"), name="Pekka", language="fi")
    factories.SubscriptionFactory(customer=customer)
    return customer


def test_a_finnish_customer_reads_status_words_and_helsinki_time(pekka, agent):
    ticket = factories.open_ticket(customer=pekka, subject="Netti ei toimi")
    ticket_set_status(ticket=ticket, status=Ticket.Status.PENDING_CUSTOMER, actor=agent)
    at = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("UTC"))
    TicketEvent.objects.filter(ticket=ticket).update(created_at=at)
    client = Client()
    client.force_login(pekka.user)  # the login remembers the profile language (customers.apps)
    body = client.get(f"/my/tickets/{ticket.reference}/").content.decode()
    assert "pending-customer" not in body
    assert "Uusi → Odottaa asiakasta" in body
    # 10:00 UTC on a Helsinki clock, zone named (core.times: the year only when it is not this one).
    assert re.search(r"20\.11\.(2026)? klo 12\.00 EET", body), re.findall(r"20\.11\.[^<]*", body)
    # The next request (a staff member's, say) is back on the site's clock.
    staff = Client()
    staff.force_login(agent)
    staff_page = staff.get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert "2026-11-20T11:00:00+01:00" in staff_page and "EET" not in staff_page
