"""Customers who write e-mail are served (issue 13): mail appended to a real IMAP server (Dovecot on
loopback) is polled, decoded, threaded or opened as a ticket, and never imported twice."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from notifications.models import Notification
from tests import factories
from tickets import mailboxes
from tickets.models import InboundMessage, Ticket, TicketEvent
from tickets.services import inbound_reimport, ticket_attach_customer, ticket_set_status

pytestmark = [pytest.mark.postgres, pytest.mark.imap, pytest.mark.django_db]

CORPUS = Path(__file__).parent / "mail"
SWEDISH = "Min router blinkar rött och jag får ingen förbindelse. Vänliga hälsningar, Åsa Öberg"
FINNISH = "Reitittimen valo vilkkuu ja yhteys ei toimi. Ystävällisin terveisin, Äijä Pöllö"


def mail(name: str, *, sender: str = "someone@example.com", ticket: Ticket | None = None) -> bytes:
    raw = (CORPUS / f"{name}.eml").read_bytes().replace(b"{SENDER}", sender.encode())
    if ticket is not None:
        raw = (
            raw.replace(b"{TICKET}", str(ticket.pk).encode())
            .replace(b"{CUSTOMER}", str(ticket.customer_id).encode())
            .replace(b"{DOMAIN}", settings.NOTIFICATION_MESSAGE_ID_DOMAIN.encode())
        )
    return raw


@pytest.fixture
def inbox(imap_server):
    return imap_server.mailbox()


def poll(inbox) -> mailboxes.PollResult:
    (config,) = mailboxes.parse_urls(inbox.url)
    return mailboxes.poll_mailbox(config)


def confirmations(ticket: Ticket) -> int:
    return Notification.objects.filter(ticket=ticket, kind=Notification.Kind.TICKET_CONFIRMATION).count()


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("sv_utf8_qp", SWEDISH),
        ("sv_latin1_base64", SWEDISH),
        ("sv_cp1252_8bit", SWEDISH + " – 100 €"),
        ("sv_latin1_labelled_utf8", SWEDISH),
        ("fi_utf8_base64", FINNISH),
        ("fi_latin1_qp", FINNISH),
        ("fi_cp1252_qp", FINNISH + " – 5 €"),
        ("fi_utf8_labelled_latin1", FINNISH),
    ],
)
def test_a_known_customers_mail_in_any_charset_opens_an_email_ticket_with_their_words(inbox, name, words):
    customer = factories.SubscriptionFactory().customer
    inbox.append(mail(name, sender=customer.email.upper()))  # the address matches whatever its case

    result = poll(inbox)

    assert result.imported == 1
    ticket = Ticket.objects.get()
    assert ticket.customer == customer
    assert ticket.channel == Ticket.Channel.EMAIL
    assert words in ticket.description
    assert "Ã" not in ticket.description and "\ufffd" not in ticket.description
    assert confirmations(ticket) == 1  # the outbox answers with the reference
    assert set(inbox.flags()[0]) == {"SupportdeskImported", "\\Seen"}  # flagged once committed


def test_rfc2047_subject_and_sender_name_are_decoded(inbox):
    customer = factories.CustomerFactory()
    inbox.append(mail("rfc2047_subject", sender=customer.email))
    poll(inbox)
    ticket = Ticket.objects.get()
    assert ticket.subject == "Förbindelsen är nere och här är jag"
    assert ticket.description == "Inget fungerar."


def test_html_only_mail_is_kept_as_sanitised_text(inbox):
    customer = factories.CustomerFactory()
    inbox.append(mail("html_only", sender=customer.email))
    poll(inbox)
    ticket = Ticket.objects.get()
    assert "Routern blinkar rött & ingen förbindelse." in ticket.description
    assert "Mvh Åsa" in ticket.description
    for gone in ("<", "alert", "color:red", "tracker"):
        assert gone not in ticket.description


def test_attachment_is_listed_on_the_timeline_and_the_text_kept(inbox):
    customer = factories.CustomerFactory()
    inbox.append(mail("attachment", sender=customer.email))
    poll(inbox)
    ticket = Ticket.objects.get()
    assert ticket.description == "Se bifogad faktura, beloppet är fel."
    entry = ticket.events.get(kind=TicketEvent.Kind.NOTE)
    assert entry.data["attachments"][0]["filename"] == "räkning.pdf"
    assert entry.data["headers"]["Subject"] == "Faktura bifogad"


def test_an_unknown_sender_gets_a_flagged_ticket_and_no_answer_until_an_agent_attaches_it(inbox, agent):
    inbox.append(mail("sv_utf8_qp", sender="stranger@example.net"))
    poll(inbox)

    ticket = Ticket.objects.get()
    row = InboundMessage.objects.get()
    assert row.sender_unknown and row.from_address == "stranger@example.net"
    assert ticket.customer.number == settings.INTAKE_UNKNOWN_CUSTOMER_NUMBER
    assert "stranger@example.net" in ticket.events.get(kind=TicketEvent.Kind.NOTE).body
    assert confirmations(ticket) == 0

    real = factories.CustomerFactory()
    ticket_attach_customer(ticket=ticket, customer=real, actor=agent)
    ticket.refresh_from_db()
    assert ticket.customer == real
    assert not InboundMessage.objects.filter(sender_unknown=True).exists()


def test_outlook_reply_threads_onto_its_ticket_by_message_id_and_reopens_it(inbox, agent):
    customer = factories.SubscriptionFactory().customer
    ticket = factories.open_ticket(customer=customer, channel=Ticket.Channel.EMAIL)
    ticket_set_status(ticket=ticket, status=Ticket.Status.RESOLVED, actor=agent)
    inbox.append(mail("outlook_reply", sender=customer.email, ticket=ticket))

    poll(inbox)

    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    message = ticket.events.get(kind=TicketEvent.Kind.CUSTOMER_MESSAGE)
    assert message.body == "Det fungerar fortfarande inte, lampan lyser rött."  # history trimmed
    assert message.data["trimmed"] is True
    raw = bytes(InboundMessage.objects.get(ticket=ticket).raw)
    assert b"Skickat: den 29 november" in raw  # the original is kept whole


def test_a_reply_threads_by_the_reference_in_its_subject(inbox):
    customer = factories.CustomerFactory()
    ticket = factories.open_ticket(customer=customer)
    inbox.append(mail("subject_reference", sender=customer.email, ticket=ticket))
    poll(inbox)
    assert Ticket.objects.count() == 1
    assert ticket.events.get(kind=TicketEvent.Kind.CUSTOMER_MESSAGE).body == "Nu är det trasigt igen."


def test_a_stranger_naming_someone_elses_reference_opens_a_new_ticket_instead(inbox):
    ticket = factories.open_ticket(customer=factories.CustomerFactory())
    inbox.append(mail("subject_reference", sender="stranger@example.net", ticket=ticket))
    poll(inbox)
    assert Ticket.objects.count() == 2
    assert not ticket.events.filter(kind=TicketEvent.Kind.CUSTOMER_MESSAGE).exists()


@pytest.mark.parametrize("name", ["out_of_office", "bulk_newsletter", "from_desk"])
def test_automatic_mail_and_the_desks_own_mail_open_nothing_and_get_no_answer(inbox, name):
    customer = factories.CustomerFactory()
    inbox.append(mail(name, sender=customer.email))
    result = poll(inbox)
    assert result.seen == 1
    assert not Ticket.objects.exists()
    assert not Notification.objects.exists()
    assert InboundMessage.objects.get().status == InboundMessage.Status.IGNORED
    assert "SupportdeskImported" in inbox.flags()[0]  # dealt with: not fetched again


def test_a_bounce_records_the_delivery_failure_on_its_ticket(inbox):
    customer = factories.CustomerFactory()
    ticket = factories.open_ticket(customer=customer)
    inbox.append(mail("bounce_dsn", sender=customer.email, ticket=ticket))
    poll(inbox)
    assert Ticket.objects.count() == 1
    row = InboundMessage.objects.get()
    assert row.status == InboundMessage.Status.BOUNCE and row.ticket == ticket
    failure = ticket.events.get(data__has_key="delivery_failure")
    assert "550 5.1.1" in failure.body
    assert Notification.objects.filter(ticket=ticket).count() == 1  # the bounced confirmation only


def test_the_same_message_twice_and_a_second_poll_import_once(inbox):
    customer = factories.CustomerFactory()
    inbox.append(mail("sv_utf8_qp", sender=customer.email), mail("sv_utf8_qp", sender=customer.email))
    first = poll(inbox)
    second = poll(inbox)
    assert (first.imported, first.duplicates, second.seen) == (1, 1, 0)
    assert Ticket.objects.count() == 1


def test_mail_without_message_id_is_keyed_by_its_bytes(inbox):
    customer = factories.CustomerFactory()
    raw = mail("no_message_id", sender=customer.email)
    inbox.append(raw, raw)
    poll(inbox)
    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.get().message_key.startswith("sha256:")


def test_a_message_flagged_late_after_a_crash_is_not_imported_again(inbox):
    """A worker that died after the commit but before flagging: the next poll finds the key taken."""
    customer = factories.CustomerFactory()
    raw = mail("sv_utf8_qp", sender=customer.email)
    from tickets.services import inbound_import

    inbound_import(raw=raw)  # committed, never flagged on the server
    inbox.append(raw)
    result = poll(inbox)
    assert (result.imported, result.duplicates) == (0, 1)
    assert Ticket.objects.count() == 1
    assert "SupportdeskImported" in inbox.flags()[0]


def test_truncated_mime_is_quarantined_whole_and_can_be_reimported(inbox, agent):
    customer = factories.CustomerFactory()
    raw = mail("truncated_mime", sender=customer.email)
    inbox.append(raw)
    poll(inbox)
    row = InboundMessage.objects.get()
    assert row.status == InboundMessage.Status.QUARANTINED
    assert "MIME" in row.reason
    assert bytes(row.raw) == raw
    assert not Ticket.objects.exists()

    # Repaired on the server side of things (here: the raw bytes completed), it imports.
    InboundMessage.objects.filter(pk=row.pk).update(raw=raw + b"\r\n--CUT--\r\n")
    inbound_reimport(message=row, actor=agent)
    row.refresh_from_db()
    assert row.status == InboundMessage.Status.OPENED
    assert row.ticket.description.startswith("Här kommer bilden")


def test_imap_urls_parse_with_tls_ports_and_several_mailboxes():
    a, b = mailboxes.parse_urls("imap://sup%40x:p%3Aw@127.0.0.1:1143/Support, imaps://u:p@mail.example.com")
    assert (a.tls, a.user, a.password, a.port, a.folder) == (False, "sup@x", "p:w", 1143, "Support")
    assert (b.tls, b.port, b.folder) == (True, 993, "INBOX")
    with pytest.raises(ValueError):
        mailboxes.parse_urls("http://x")


@pytest.mark.django_db(transaction=True)
def test_overlapping_polls_import_each_message_exactly_once(inbox):
    customer = factories.CustomerFactory()
    inbox.append(
        *[
            mail("no_message_id", sender=customer.email).replace(b"utan id", f"nr {i}".encode())
            for i in range(12)
        ]
    )
    (config,) = mailboxes.parse_urls(inbox.url)
    results, errors = [], []

    def run():
        try:
            results.append(mailboxes.poll_mailbox(config, batch=3))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert Ticket.objects.count() == 12
    assert InboundMessage.objects.count() == 12
    assert sum(r.imported for r in results) == 12
    assert all("SupportdeskImported" in f for f in inbox.flags())


def test_the_beat_task_polls_every_configured_mailbox(imap_server, settings):
    from supportdesk.celery import app
    from tickets import tasks

    first, second = imap_server.mailbox(), imap_server.mailbox()
    customer = factories.CustomerFactory()
    first.append(mail("sv_utf8_qp", sender=customer.email))
    second.append(mail("fi_utf8_base64", sender=customer.email))
    settings.INTAKE_IMAP_URL = f"{first.url}, {second.url}"

    app.finalize()
    assert app.conf.beat_schedule["intake-poll"]["task"] == "tickets.tasks.poll_mailboxes"
    assert tasks.poll_mailboxes.delay().get() == {"seen": 2, "imported": 2, "duplicates": 0}
    assert set(InboundMessage.objects.values_list("mailbox", flat=True)) == {
        f"{first.user}@127.0.0.1:{imap_server.port}/INBOX",
        f"{second.user}@127.0.0.1:{imap_server.port}/INBOX",
    }
