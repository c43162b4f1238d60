"""Agents see e-mail that could not be read, with the reason and a count, and can re-import it;
they attach an unknown sender's ticket to the customer. No IMAP here: the import service takes bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from tests import factories
from tickets.models import InboundMessage, Ticket
from tickets.services import inbound_import

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CORPUS = Path(__file__).parent / "mail"


def truncated(n: int) -> bytes:
    raw = (CORPUS / "truncated_mime.eml").read_bytes().replace(b"{SENDER}", b"x@example.com")
    return raw.replace(b"<truncated.corpus@", f"<truncated.{n}@".encode())


def test_the_quarantine_page_lists_unreadable_mail_with_reason_and_count_in_fixed_queries(
    client, agent, django_assert_num_queries
):
    for n in range(3):
        inbound_import(raw=truncated(n))
    client.force_login(agent)
    with django_assert_num_queries(6):  # session, user, roles (2), rows, count
        few = client.get(reverse("tickets:mail_quarantine"))
    for n in range(3, 30):
        inbound_import(raw=truncated(n))
    with django_assert_num_queries(6):
        page = client.get(reverse("tickets:mail_quarantine"))
    html = page.content.decode()
    assert few.status_code == page.status_code == 200
    assert 'data-testid="quarantine-count">30<' in html
    assert "broken MIME structure" in html and "x@example.com" in html


def test_customers_and_outsiders_cannot_see_the_quarantine(client, alice, outsider):
    for user in (alice.user, outsider):
        client.force_login(user)
        assert client.get(reverse("tickets:mail_quarantine")).status_code == 403


def test_reimporting_mail_that_is_still_unreadable_keeps_it_quarantined(client, agent):
    row = inbound_import(raw=truncated(1))
    client.force_login(agent)
    response = client.post(reverse("tickets:mail_reimport", args=[row.pk]), follow=True)
    assert "Still unreadable" in response.content.decode()
    row.refresh_from_db()
    assert row.status == InboundMessage.Status.QUARANTINED
    assert not Ticket.objects.exists()


def test_an_agent_attaches_an_unknown_senders_ticket_to_the_customer(client, agent):
    raw = (CORPUS / "sv_utf8_qp.eml").read_bytes().replace(b"{SENDER}", b"new@example.net")
    ticket = inbound_import(raw=raw).ticket
    customer = factories.CustomerFactory()
    client.force_login(agent)
    detail = client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()
    assert 'data-testid="sender-unknown"' in detail and "new@example.net" in detail

    client.post(reverse("tickets:attach_customer", args=[ticket.reference]), {"number": customer.number})

    ticket.refresh_from_db()
    assert ticket.customer == customer
    detail = client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()
    assert 'data-testid="sender-unknown"' not in detail
