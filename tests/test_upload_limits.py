"""Request bodies are bounded, multipart files included: a clear 413 (or 400 for too many parts), JSON
under /api/ and a short page elsewhere, and nothing stored."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.core]

MB = 1024 * 1024


def _ticket_form(**extra):
    return {"subject": "Router dead", "description": "Nothing works", "category": "technical", **extra}


def test_a_20_mb_file_part_on_the_api_is_a_413_in_json(client, agent, settings):
    client.force_login(agent)
    big = SimpleUploadedFile("modem.log", b"x" * (20 * MB))
    response = client.post(
        "/api/v1/tickets/", {"customer": "1", "subject": "s", "description": "d", "f": big}
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert "larger than" in response.json()["error"]
    assert not Ticket.objects.exists()


def test_a_20_mb_file_part_on_the_portal_form_is_a_413_page(client, alice):
    client.force_login(alice.user)
    big = SimpleUploadedFile("photo.jpg", b"x" * (20 * MB))
    response = client.post("/my/tickets/new/", _ticket_form(attachment=big))
    assert response.status_code == 413
    assert "larger than" in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_file_over_the_per_file_limit_is_stopped_while_parsing(client, alice, settings):
    # The whole body is allowed, but one file part is over its own limit: the upload handler stops
    # it (the path a body without Content-Length takes).
    settings.UPLOAD_MAX_FILE_SIZE = 100_000
    client.force_login(alice.user)
    big = SimpleUploadedFile("photo.jpg", b"x" * 200_000)
    response = client.post("/my/tickets/new/", _ticket_form(attachment=big))
    assert response.status_code == 413
    assert "A file is larger than" in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_file_over_the_limit_is_refused_even_when_csrf_reads_the_form_first(alice, settings):
    # With CSRF enforced, CsrfViewMiddleware reads request.POST before the view: the refusal comes
    # from handler400, and must still be a 413 that says why.
    settings.UPLOAD_MAX_FILE_SIZE = 100_000
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.user)
    client.get("/my/tickets/new/")
    token = client.cookies["csrftoken"].value
    big = SimpleUploadedFile("photo.jpg", b"x" * 200_000)
    response = client.post("/my/tickets/new/", _ticket_form(attachment=big, csrfmiddlewaretoken=token))
    assert response.status_code == 413
    assert "larger than" in response.content.decode()


def test_a_small_file_within_the_limits_is_accepted(client, alice):
    client.force_login(alice.user)
    small = SimpleUploadedFile("photo.jpg", b"x" * 10_000)
    response = client.post("/my/tickets/new/", _ticket_form(attachment=small))
    assert response.status_code == 302
    assert Ticket.objects.count() == 1


def test_too_many_form_fields_is_a_400_that_says_so(client, alice, settings):
    client.force_login(alice.user)
    fields = _ticket_form(**{f"x{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)})
    response = client.post("/my/tickets/new/", fields)
    assert response.status_code == 400
    assert "Too many form fields" in response.content.decode()
    assert not Ticket.objects.exists()


def test_too_many_files_on_the_api_is_a_json_400(client, agent, settings):
    client.force_login(agent)
    files = {
        f"f{i}": SimpleUploadedFile(f"{i}.txt", b"x")
        for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    }
    response = client.post("/api/v1/tickets/", {"subject": "s", "description": "d", **files})
    assert response.status_code == 400
    assert "Too many files" in response.json()["error"]


def test_an_oversize_urlencoded_form_is_refused_before_it_is_read(client, alice, settings):
    client.force_login(alice.user)
    response = client.post(
        "/my/tickets/new/", _ticket_form(description="y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))
    )
    assert response.status_code == 413
    assert not Ticket.objects.exists()


def test_a_malformed_content_length_is_no_500(client, agent):
    client.force_login(agent)
    response = client.post("/api/v1/tickets/", "{}", content_type="application/json", CONTENT_LENGTH="abc")
    assert response.status_code < 500


def test_a_multipart_body_over_the_total_limit_is_refused_by_its_length(client, alice, settings):
    settings.REQUEST_MAX_BODY_SIZE = 50_000
    client.force_login(alice.user)
    files = {f"f{i}": SimpleUploadedFile(f"{i}.jpg", b"x" * 20_000) for i in range(3)}
    response = client.post("/my/tickets/new/", _ticket_form(**files))
    assert response.status_code == 413
    assert "request body is larger than" in response.content.decode()
    assert not Ticket.objects.exists()


def test_the_transport_limits_sit_above_the_attachment_rules(settings):
    # A file a little too big, or one too many, must reach the form and get its own error.
    assert settings.UPLOAD_MAX_FILE_SIZE > settings.ATTACHMENT_MAX_BYTES
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES > settings.ATTACHMENT_MAX_COUNT
    assert settings.REQUEST_MAX_BODY_SIZE >= settings.ATTACHMENT_MAX_BYTES * settings.ATTACHMENT_MAX_COUNT
