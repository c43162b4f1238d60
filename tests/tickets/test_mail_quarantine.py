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


def test_an_agent_opens_a_quarantined_message_as_a_ticket_once_however_often_they_click(client, agent):
    customer = factories.CustomerFactory()
    raw = (CORPUS / "truncated_mime.eml").read_bytes().replace(b"{SENDER}", customer.email.encode())
    row = inbound_import(raw=raw)
    client.force_login(agent)
    url = reverse("tickets:mail_open_as_ticket", args=[row.pk])

    first = client.post(url)
    second = client.post(url)

    ticket = Ticket.objects.get()
    assert first["Location"] == second["Location"] == reverse("tickets:detail", args=[ticket.reference])
    assert ticket.customer == customer and ticket.channel == Ticket.Channel.EMAIL
    assert ticket.description.startswith("Här kommer bilden")  # the text that could be read
    row.refresh_from_db()
    assert (row.status, row.ticket) == (InboundMessage.Status.OPENED, ticket)
    assert bytes(row.raw) == raw  # the original stays
    note = ticket.events.get(data__has_key="quarantine_reason")
    assert "MIME" in note.data["quarantine_reason"] and note.actor == agent
    page = client.get(reverse("tickets:mail_quarantine")).content.decode()
    assert 'data-testid="quarantine-count">0<' in page


def test_only_staff_open_quarantined_mail_as_a_ticket(client, alice, outsider):
    row = inbound_import(raw=truncated(7))
    for user in (alice.user, outsider):
        client.force_login(user)
        assert client.post(reverse("tickets:mail_open_as_ticket", args=[row.pk])).status_code == 403
    assert not Ticket.objects.exists()


def test_a_message_that_was_imported_cannot_be_opened_again_by_hand(client, agent):
    raw = (CORPUS / "out_of_office.eml").read_bytes().replace(b"{SENDER}", b"x@example.com")
    row = inbound_import(raw=raw)  # ignored, automatic mail
    client.force_login(agent)
    response = client.post(reverse("tickets:mail_open_as_ticket", args=[row.pk]), follow=True)
    assert "Only quarantined messages" in response.content.decode()
    assert not Ticket.objects.exists()


def test_staff_expand_an_emails_headers_escaped_and_customers_never_see_them(client, agent, alice):
    raw = (
        b"From: Alice <" + alice.email.encode() + b">\r\nTo: support@supportdesk.example\r\n"
        b"Subject: <script>alert(1)</script> trasig\r\nDate: Sun, 29 Nov 2026 10:00:00 +0100\r\n"
        b"Message-ID: <hdr.1@mail.example.com>\r\nX-Mailer: <b>Evil</b>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nHej.\r\n"
    )
    ticket = inbound_import(raw=raw).ticket
    client.force_login(agent)
    html = client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()
    assert 'data-testid="mail-headers"' in html
    headers = html.split('data-testid="mail-headers"', 1)[1].split("</details>", 1)[0]
    for shown in ("Message-ID", "&lt;hdr.1@mail.example.com&gt;", "Sun, 29 Nov 2026 10:00:00 +0100", "From"):
        assert shown in headers
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in headers and "&lt;b&gt;Evil&lt;/b&gt;" in headers
    assert "<script>alert" not in html and "<b>Evil" not in html
    client.force_login(alice.user)
    mine = client.get(reverse("tickets:my_ticket", args=[ticket.reference])).content.decode()
    assert 'data-testid="mail-headers"' not in mine
