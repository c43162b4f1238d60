"""Agents attach files to their replies (the reply box on the ticket page and the API's comment
endpoint), judged by the same rules as the customer's and e-mail's files; the customer sees a reply's
files on their ticket page, and images are previewed inline — a copy re-encoded by Pillow, for exactly
the people who may download the file, never SVG, never the sender's bytes."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from tests import factories
from tests.notifications.conftest import text_and_html
from tickets.attachments import Upload, preview
from tickets.models import Attachment, TicketEvent
from tickets.services import attachments_add

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

PDF = b"%PDF-1.4\n% a small pdf for the test\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60


@pytest.fixture(autouse=True)
def _no_cached_previews():
    cache.clear()  # previews are cached by attachment id, and ids restart with the test database
    yield
    cache.clear()


def image_bytes(fmt: str = "JPEG", size=(800, 600), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, fmt, **save)
    return out.getvalue()


def with_gps(jpeg_size=(800, 600)) -> bytes:
    """A phone photo: EXIF with a GPS position and "rotated 90°" (orientation 6)."""
    image = Image.new("RGB", jpeg_size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was held upright
    exif[0x8825] = {1: "N", 2: (59.0, 19.0, 48.0)}  # GPSInfo: latitude, somewhere in Stockholm
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def reply_with(client, ticket, *files, public: bool = True, **extra):
    data = {"body": "Här är en bild på knappen.", "attachments": list(files)}
    if public:
        data["public"] = "1"
    return client.post(reverse("tickets:comment", args=[ticket.reference]), data, **extra)


# --- the reply box --------------------------------------------------------------------------------


def test_an_agents_reply_carries_a_picture_the_customer_sees_on_their_ticket(client, agent, alice):
    ticket = factories.open_ticket(customer=alice)
    client.force_login(agent)
    response = reply_with(client, ticket, SimpleUploadedFile("knappen.jpg", image_bytes(), "image/jpeg"))
    assert response.status_code == 302
    reply = ticket.events.get(kind=TicketEvent.Kind.REPLY)
    [attachment] = reply.attachments.all()
    assert (attachment.filename, attachment.content_type, attachment.uploaded_by) == (
        "knappen.jpg",
        "image/jpeg",
        agent,
    )

    client.force_login(alice.user)
    page = client.get(reverse("tickets:my_ticket", args=[ticket.reference])).content.decode()
    preview_url = reverse("tickets:attachment_preview", args=[attachment.pk])
    assert f'<img src="{preview_url}" alt="Bild: knappen.jpg"' in page  # Alice reads Swedish
    shown = client.get(preview_url)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(shown.content)).size == (800, 600)


def test_the_reply_box_in_place_sends_files_too(client, agent, alice):
    ticket = factories.open_ticket(customer=alice)
    client.force_login(agent)
    response = reply_with(
        client,
        ticket,
        SimpleUploadedFile("kvitto.pdf", PDF),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="ticket-work",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Sent to the customer." in html
    assert 'enctype="multipart/form-data"' in html and 'hx-encoding="multipart/form-data"' in html
    assert "kvitto.pdf" in html  # the re-rendered timeline shows it
    assert Attachment.objects.get().event.kind == TicketEvent.Kind.REPLY


def test_a_forbidden_file_refuses_the_whole_reply_and_says_which(client, agent, alice):
    ticket = factories.open_ticket(customer=alice)
    client.force_login(agent)
    response = reply_with(
        client,
        ticket,
        SimpleUploadedFile("bild.png", EXE, "image/png"),  # an executable, whatever its name says
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "bild.png: files of this type are not accepted (application/x-msdownload)" in html
    assert "Nothing was sent." in html
    assert "Här är en bild på knappen." in html  # the typed text stays in the box
    assert not ticket.events.filter(kind=TicketEvent.Kind.REPLY).exists()
    assert not Attachment.objects.exists()


def test_a_file_on_an_internal_note_stays_with_staff(client, agent, alice):
    ticket = factories.open_ticket(customer=alice)
    client.force_login(agent)
    reply_with(client, ticket, SimpleUploadedFile("intern.png", image_bytes("PNG")), public=False)
    attachment = Attachment.objects.get()
    assert attachment.event.kind == TicketEvent.Kind.NOTE
    for name in ("tickets:attachment", "tickets:attachment_preview"):
        url = reverse(name, args=[attachment.pk])
        assert client.get(url).status_code == 200
        client.force_login(alice.user)
        assert client.get(url).status_code == 404
        client.force_login(agent)
    client.force_login(alice.user)
    assert (
        "intern.png" not in client.get(reverse("tickets:my_ticket", args=[ticket.reference])).content.decode()
    )


def test_the_reply_email_names_the_files_and_where_to_see_them(
    client, agent, alice, smtp, django_capture_on_commit_callbacks
):
    ticket = factories.open_ticket(customer=alice)
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        reply_with(client, ticket, SimpleUploadedFile("knappen.jpg", image_bytes()))
    [reply] = [m for m in smtp.to(alice.email) if "knappen" in text_and_html(m)[0]]
    text, html = text_and_html(reply)
    assert "1 fil finns med svaret på din ärendesida:" in text
    assert f"https://desk.example/my/tickets/{ticket.reference}/" in text
    assert "knappen.jpg" in html
    assert not any(part.get_filename() for part in reply.walk())  # named, not sent


# --- the API --------------------------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_takes_a_replys_files_as_multipart_and_lists_them(agent, alice):
    ticket = factories.open_ticket(customer=alice)
    url = f"/api/v1/tickets/{ticket.reference}/comments/"
    response = api(agent).post(
        url,
        {
            "body": "See the picture.",
            "public": "true",
            "attachments": [
                SimpleUploadedFile("lights.png", image_bytes("PNG")),
                SimpleUploadedFile("manual.pdf", PDF),
            ],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    [reply] = [c for c in api(alice.user).get(url).json()["results"] if c["kind"] == "reply"]
    assert [(a["filename"], a["content_type"]) for a in reply["attachments"]] == [
        ("lights.png", "image/png"),
        ("manual.pdf", "application/pdf"),
    ]
    downloaded = APIClient()
    downloaded.force_login(alice.user)
    assert downloaded.get(reply["attachments"][1]["url"]).status_code == 200


def test_the_api_refuses_a_forbidden_or_oversize_file_naming_it(agent, alice, settings):
    ticket = factories.open_ticket(customer=alice)
    url = f"/api/v1/tickets/{ticket.reference}/comments/"
    response = api(agent).post(
        url,
        {"body": "x", "public": "true", "attachments": [SimpleUploadedFile("setup.pdf", EXE)]},
        format="multipart",
    )
    assert response.status_code == 400
    assert "setup.pdf: files of this type are not accepted" in str(response.json())
    settings.ATTACHMENT_MAX_BYTES = 10
    response = api(agent).post(
        url, {"body": "x", "attachments": [SimpleUploadedFile("manual.pdf", PDF)]}, format="multipart"
    )
    assert response.status_code == 400 and "manual.pdf: larger than 10" in str(response.json())
    assert not Attachment.objects.exists()
    assert not ticket.events.filter(kind=TicketEvent.Kind.REPLY).exists()


def test_a_json_comment_without_files_still_works(agent, alice):
    ticket = factories.open_ticket(customer=alice)
    response = api(agent).post(
        f"/api/v1/tickets/{ticket.reference}/comments/", {"body": "Hello", "public": True}, format="json"
    )
    assert response.status_code == 201
    bad = api(agent).post(
        f"/api/v1/tickets/{ticket.reference}/comments/",
        {"body": "Hello", "attachments": ["not a file"]},
        format="json",
    )
    assert bad.status_code == 400


# --- the preview ----------------------------------------------------------------------------------


@pytest.fixture
def photo(alice):
    """Alice's phone photo on her ticket's opening entry."""
    ticket = factories.open_ticket(customer=alice)
    opened = ticket.events.get(kind=TicketEvent.Kind.OPENED)
    attachments_add(
        ticket=ticket, event=opened, uploads=[Upload("IMG_0042.jpg", with_gps())], actor=alice.user
    )
    return Attachment.objects.get()


def test_the_preview_is_a_new_image_turned_upright_without_the_photos_position(client, agent, photo):
    client.force_login(agent)
    response = client.get(reverse("tickets:attachment_preview", args=[photo.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert (
        response["Content-Disposition"].startswith("inline;")
        and "IMG_0042.jpg" in response["Content-Disposition"]
    )
    assert response["Cache-Control"] == "private, no-store"
    shown = Image.open(io.BytesIO(response.content))
    assert shown.size == (600, 800)  # turned as the camera was held
    assert not shown.getexif()  # no GPS position, no orientation left to apply twice


def test_the_preview_is_for_the_same_people_as_the_download(client, alice, bob, outsider, photo):
    url = reverse("tickets:attachment_preview", args=[photo.pk])
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    client.force_login(bob.user)
    assert client.get(url).status_code == 404
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    client.force_login(alice.user)
    assert client.get(url).status_code == 200


def test_only_raster_images_are_previewed_never_a_pdf_or_markup(client, agent, alice):
    ticket = factories.open_ticket(customer=alice)
    opened = ticket.events.get(kind=TicketEvent.Kind.OPENED)
    attachments_add(ticket=ticket, event=opened, uploads=[Upload("manual.pdf", PDF)])
    # A row that claims an image but whose bytes are not one (say, stored before sniffing existed).
    fake = Attachment.objects.create(
        ticket=ticket,
        event=opened,
        file=SimpleUploadedFile("x", b"<svg onload=alert(1)>"),
        filename="x.png",
        content_type="image/png",
        size=21,
    )
    client.force_login(agent)
    pdf = Attachment.objects.get(filename="manual.pdf")
    assert client.get(reverse("tickets:attachment_preview", args=[pdf.pk])).status_code == 404
    assert client.get(reverse("tickets:attachment_preview", args=[fake.pk])).status_code == 404
    html = client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()
    assert reverse("tickets:attachment_preview", args=[pdf.pk]) not in html
    assert preview(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml") is None


def test_a_polyglots_extra_bytes_never_reach_the_browser(client, agent, alice):
    png = image_bytes("PNG", size=(40, 30)) + b"<html><script>alert(document.cookie)</script></html>"
    ticket = factories.open_ticket(customer=alice)
    opened = ticket.events.get(kind=TicketEvent.Kind.OPENED)
    attachments_add(ticket=ticket, event=opened, uploads=[Upload("lampor.png", png)])
    client.force_login(agent)
    response = client.get(reverse("tickets:attachment_preview", args=[Attachment.objects.get().pk]))
    assert response["Content-Type"] == "image/png"
    assert b"<script>" not in response.content
    assert Image.open(io.BytesIO(response.content)).size == (40, 30)


def test_a_huge_picture_is_made_small_and_a_decompression_bomb_is_not_decoded():
    big = preview(image_bytes("JPEG", size=(4000, 3000)), "image/jpeg")
    assert big is not None and Image.open(io.BytesIO(big[0])).size == (1280, 960)
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")  # 144 million pixels in a small file
    assert len(out.getvalue()) < 1_000_000
    assert preview(out.getvalue(), "image/png") is None
    assert preview(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png") is None  # broken: not an image
