"""Files that come with tickets (issues 12 and 13): kept in storage with the ticket and the entry
they came with, checked by their bytes and the configured limits, and downloadable only by staff and
the ticket's own customer, always as a download. E-mail goes through the import service as bytes;
the IMAP side is tested in test_email_intake.py."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories
from tickets.attachments import check, clean_filename, sniff
from tickets.models import Attachment, Ticket, TicketEvent
from tickets.services import inbound_import, ticket_comment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CORPUS = Path(__file__).parent / "mail"
PDF = b"%PDF-1.4\n% a small pdf for the test\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60


def mail_with(sender: str, *files: tuple[str, str, bytes], subject: str = "Kvitto", **headers) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@supportdesk.example"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash((sender, subject, len(files))))}.att@mail.example.com>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Här är filerna.")
    for name, ctype, data in files:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


# --- what a file is ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (EXE, "application/x-msdownload"),
        (b"<!DOCTYPE html><script>alert(1)</script>", "text/html"),
        (b"  <svg onload=alert(1)>", "text/html"),
        ("Räkningen är fel, 100 €".encode(), "text/plain"),
        ("Räkningen är fel".encode("latin-1"), "text/plain"),
        (b"\x00\x01\x02binary", "application/octet-stream"),
    ],
)
def test_the_type_is_read_from_the_bytes_not_the_label(data, expected):
    assert sniff(data) == expected


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("räkning.pdf", "räkning.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\kvitto.pdf", "kvitto.pdf"),
        ("..hidden", "hidden"),
        ("a\x00b\r\n.txt", "ab.txt"),
        ('bad"<name>;.png', "bad_name_.png"),
        ("", "attachment"),
        ("x" * 300 + ".pdf", "x" * 137 + ".pdf"),
    ],
)
def test_file_names_are_made_harmless(name, clean):
    assert clean_filename(name) == clean


def test_an_executable_named_pdf_and_a_script_by_its_suffix_are_refused(settings):
    from tickets.attachments import Upload

    assert check(Upload("faktura.pdf", EXE)).refused
    assert check(Upload("run.js", b"alert(1)")).refused  # text, but it runs when opened
    assert not check(Upload("faktura.pdf", PDF)).refused
    settings.ATTACHMENT_MAX_BYTES = 10
    assert "larger than" in check(Upload("faktura.pdf", PDF)).refused


# --- e-mail intake -------------------------------------------------------------------------------


def test_an_emails_attachment_is_stored_with_the_ticket_and_its_opening_entry():
    customer = factories.CustomerFactory()
    raw = (CORPUS / "attachment.eml").read_bytes().replace(b"{SENDER}", customer.email.encode())

    ticket = inbound_import(raw=raw).ticket

    (attachment,) = Attachment.objects.all()
    assert attachment.ticket == ticket
    assert attachment.event == ticket.events.get(kind=TicketEvent.Kind.OPENED)
    assert (attachment.filename, attachment.content_type) == ("räkning.pdf", "application/pdf")
    with attachment.file.open("rb") as f:
        data = f.read()
    assert data.startswith(b"%PDF-1.4") and len(data) == attachment.size
    assert "räkning" not in attachment.file.name  # stored under a random name


def test_oversize_and_forbidden_attachments_are_refused_with_a_note_and_nothing_else_is_lost(settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    customer = factories.CustomerFactory()
    raw = mail_with(
        customer.email,
        ("kvitto.pdf", "application/pdf", PDF),
        ("faktura.pdf", "application/pdf", EXE),  # the label lies
        ("stor.png", "image/png", PNG + b"\x00" * 2000),
    )

    ticket = inbound_import(raw=raw).ticket

    assert ticket.description == "Här är filerna."
    assert list(Attachment.objects.values_list("filename", flat=True)) == ["kvitto.pdf"]
    note = ticket.events.get(data__has_key="attachments_refused")
    assert not note.public
    assert "faktura.pdf" in note.body and "application/x-msdownload" in note.body
    assert "stor.png" in note.body and "larger than" in note.body


def test_attachments_beyond_the_count_limit_are_refused(settings):
    settings.ATTACHMENT_MAX_COUNT = 2
    customer = factories.CustomerFactory()
    files = [(f"bild{i}.png", "image/png", PNG) for i in range(3)]
    ticket = inbound_import(raw=mail_with(customer.email, *files)).ticket
    assert Attachment.objects.filter(ticket=ticket).count() == 2
    assert "bild2.png" in ticket.events.get(data__has_key="attachments_refused").body


def test_a_replys_attachment_goes_on_the_customers_message(alice):
    ticket = factories.open_ticket(customer=alice)
    raw = mail_with(alice.email, ("foto.png", "image/png", PNG), subject=f"Re: {ticket.reference}")

    inbound_import(raw=raw)

    message = ticket.events.get(kind=TicketEvent.Kind.CUSTOMER_MESSAGE)
    assert list(message.attachments.values_list("filename", flat=True)) == ["foto.png"]


# --- the customer portal -------------------------------------------------------------------------


def test_a_customer_attaches_files_to_a_new_ticket(client, alice):
    client.force_login(alice.user)
    response = client.post(
        reverse("tickets:new_ticket"),
        {
            "category": "technical",
            "subject": "Routern",
            "description": "Se bilden.",
            "attachments": [
                SimpleUploadedFile("lampor.png", PNG, "image/png"),
                SimpleUploadedFile("kvitto.pdf", PDF, "text/html"),  # the browser's label is ignored
            ],
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    opened = ticket.events.get(kind=TicketEvent.Kind.OPENED)
    assert set(opened.attachments.values_list("filename", "content_type")) == {
        ("lampor.png", "image/png"),
        ("kvitto.pdf", "application/pdf"),
    }
    page = client.get(reverse("tickets:my_ticket", args=[ticket.reference])).content.decode()
    assert "lampor.png" in page and 'enctype="multipart/form-data"' in page


def test_a_forbidden_file_in_the_form_is_an_error_and_opens_no_ticket(client, alice):
    client.force_login(alice.user)
    response = client.post(
        reverse("tickets:new_ticket"),
        {
            "category": "technical",
            "subject": "Routern",
            "description": "Se filen.",
            "attachments": [SimpleUploadedFile("faktura.pdf", EXE, "application/pdf")],
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "faktura.pdf: filer av den här typen tas inte emot" in html  # Alice reads Swedish
    assert not Ticket.objects.exists()


def test_a_customer_attaches_a_file_to_a_reply(client, alice):
    ticket = factories.open_ticket(customer=alice)
    client.force_login(alice.user)
    client.post(
        reverse("tickets:my_ticket_reply", args=[ticket.reference]),
        {"body": "Här är kvittot.", "attachments": [SimpleUploadedFile("kvitto.pdf", PDF)]},
    )
    message = ticket.events.get(kind=TicketEvent.Kind.CUSTOMER_MESSAGE)
    assert message.body == "Här är kvittot."
    assert list(message.attachments.values_list("filename", flat=True)) == ["kvitto.pdf"]


def test_an_oversize_file_in_a_reply_is_refused_and_nothing_is_added(client, alice, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    ticket = factories.open_ticket(customer=alice)
    client.force_login(alice.user)
    response = client.post(
        reverse("tickets:my_ticket_reply", args=[ticket.reference]),
        {"body": "Här.", "attachments": [SimpleUploadedFile("kvitto.pdf", PDF)]},
        follow=True,
    )
    assert "kvitto.pdf: större än 10\xa0byte" in response.content.decode()
    assert not ticket.events.filter(kind=TicketEvent.Kind.CUSTOMER_MESSAGE).exists()
    assert not Attachment.objects.exists()


# --- downloads -----------------------------------------------------------------------------------


@pytest.fixture
def alices_file(alice):
    ticket = factories.open_ticket(customer=alice)
    inbound_import(
        raw=mail_with(alice.email, ("kvitto.pdf", "application/pdf", PDF), subject=ticket.reference)
    )
    return Attachment.objects.get()


def test_staff_and_the_tickets_customer_download_it_as_an_attachment_never_sniffed(
    client, agent, alice, alices_file
):
    url = reverse("tickets:attachment", args=[alices_file.pk])
    for user in (agent, alice.user):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert "kvitto.pdf" in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"].startswith("sandbox")


def test_another_customer_gets_404_an_outsider_403_and_a_stranger_the_login(
    client, bob, outsider, alices_file
):
    url = reverse("tickets:attachment", args=[alices_file.pk])
    assert client.get(url).status_code == 302  # anonymous: to the sign-in page
    client.force_login(bob.user)
    assert client.get(url).status_code == 404
    client.force_login(outsider)
    assert client.get(url).status_code == 403


def test_a_file_on_an_internal_note_is_not_the_customers_to_download(client, agent, alice):
    ticket = factories.open_ticket(customer=alice)
    note = ticket_comment(ticket=ticket, actor=agent, body="Skärmdump från systemet", public=False)
    from tickets.attachments import Upload
    from tickets.services import attachments_add

    attachments_add(ticket=ticket, event=note, uploads=[Upload("intern.png", PNG)], actor=agent)
    url = reverse("tickets:attachment", args=[Attachment.objects.get().pk])
    client.force_login(alice.user)
    assert client.get(url).status_code == 404
    client.force_login(agent)
    assert client.get(url).status_code == 200


def test_a_non_numeric_or_unknown_id_is_404(client, agent):
    client.force_login(agent)
    assert client.get(reverse("tickets:attachment", args=[999999])).status_code == 404


def test_the_timeline_costs_the_same_queries_with_one_file_or_eleven(
    client, agent, alice, django_assert_num_queries
):
    from tickets.attachments import Upload
    from tickets.services import attachments_add

    ticket = factories.open_ticket(customer=alice)
    opened = ticket.events.get(kind=TicketEvent.Kind.OPENED)
    attachments_add(ticket=ticket, event=opened, uploads=[Upload("a.png", PNG)])
    client.force_login(agent)
    url = reverse("tickets:detail", args=[ticket.reference])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(5):
        reply = ticket_comment(ticket=ticket, actor=alice.user, body=f"Bild {n}", public=True)
        attachments_add(
            ticket=ticket, event=reply, uploads=[Upload(f"b{n}.png", PNG), Upload(f"c{n}.pdf", PDF)]
        )
    with django_assert_num_queries(len(one.captured_queries)):
        html = client.get(url).content.decode()
    assert "c4.pdf" in html and "a.png" in html


def test_superusers_see_a_tickets_files_read_only_in_the_admin(client, alices_file):
    # A superuser: the admin role's group holds the permissions of the models that existed when
    # supportdesk/migrations/0001_roles.py ran, and Attachment is newer.
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("root", password="pw-root"))
    html = client.get(reverse("admin:tickets_ticket_change", args=[alices_file.ticket_id])).content.decode()
    assert "kvitto.pdf" in html and "application/pdf" in html
    assert "attachments-0-filename" not in html  # no editable field
