"""Writing to us without signing in (story 6), read from a real local SMTP server: the ticket is
opened only after the owner of the address on file confirms by the e-mailed link, then the usual
confirmation with the reference arrives; a honeypot and a rate limit keep robots out, and the page
never tells whether an address or number is ours."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from notifications.models import Notification
from tests import factories
from tests.notifications import conftest as mail_fixtures
from tests.notifications.conftest import text_and_html
from tickets.models import ContactRequest, Ticket

smtp = mail_fixtures.smtp  # the local SMTP server fixture

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def maja(db):
    sub = factories.SubscriptionFactory(
        customer__email="Maja@Example.com",
        customer__language="fi",
        customer__phone="+358401234567",
        service=factories.ServiceFactory(code="email", name="E-mail", names={"fi": "Sähköposti"}),
    )
    return sub.customer


def write(client, capture, *, ip="198.51.100.9", **fields):
    data = {
        "email": "maja@example.com",
        "number_or_phone": "040 123 4567",
        "category": "technical",
        "service": "",
        "subject": "Sähköposti ei toimi",
        "description": "En saa viestejä <script>alert(1)</script> aamusta asti.",
        "website": "",
        **fields,
    }
    with capture(execute=True):
        return client.post("/contact/", data, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="fi")


def test_a_visitor_confirms_by_email_and_gets_a_ticket_with_its_reference(
    maja, smtp, django_capture_on_commit_callbacks
):
    client = Client()
    response = write(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == "/contact/sent/"
    assert not Ticket.objects.exists()  # nothing reaches an agent before the owner confirms
    [mail] = smtp.to("Maja@Example.com")  # to the address on file, in the customer's language
    text, html = text_and_html(mail)
    assert "Sähköposti ei toimi" in mail["Subject"] and "Hei" in text
    [path] = re.findall(r"https://desk\.example(/contact/confirm/[^/\s]+/)", text)
    assert path in html

    assert client.get(path).status_code == 200  # a mail scanner opening the link opens nothing
    assert not Ticket.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(path)
    [ticket] = Ticket.objects.all()
    assert page.status_code == 200 and ticket.reference in page.content.decode()
    assert ticket.customer == maja and ticket.channel == Ticket.Channel.WEB
    assert (
        ticket.description.endswith("aamusta asti.") and "<script>" in ticket.description
    )  # stored as typed
    assert "<script>alert" not in page.content.decode()

    [_, confirmation] = smtp.to("Maja@Example.com")
    assert ticket.reference in confirmation["Subject"] or ticket.reference in text_and_html(confirmation)[0]

    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(path)  # the link used twice opens one ticket
    assert again.status_code == 200 and Ticket.objects.count() == 1


def test_the_customer_number_works_as_well_as_the_phone(maja, smtp, django_capture_on_commit_callbacks):
    write(Client(), django_capture_on_commit_callbacks, number_or_phone=maja.number)
    assert ContactRequest.objects.filter(customer=maja).count() == 1


def test_details_that_do_not_match_a_customer_get_the_same_answer_and_no_mail(
    maja, smtp, django_capture_on_commit_callbacks
):
    client = Client()
    for fields in ({"number_or_phone": "999999"}, {"email": "someone@example.com"}):
        response = write(client, django_capture_on_commit_callbacks, **fields)
        assert response.status_code == 302 and response["Location"] == "/contact/sent/"
    assert smtp.messages == [] and not ContactRequest.objects.exists()
    assert not Notification.objects.exists()


def test_a_filled_honeypot_keeps_nothing(maja, smtp, django_capture_on_commit_callbacks):
    response = write(Client(), django_capture_on_commit_callbacks, website="http://cheap.example")
    assert response.status_code == 302
    assert not ContactRequest.objects.exists() and smtp.messages == []


def test_writing_is_rate_limited_per_address_and_per_network(maja, smtp, django_capture_on_commit_callbacks):
    client = Client()
    for _ in range(3):
        assert write(client, django_capture_on_commit_callbacks).status_code == 302
    limited = write(client, django_capture_on_commit_callbacks)
    assert limited.status_code == 429 and "Sähköposti ei toimi" in limited.content.decode()  # kept
    for n in range(10 - 3):
        write(client, django_capture_on_commit_callbacks, email=f"other{n}@example.com")
    assert write(client, django_capture_on_commit_callbacks, email="new@example.com").status_code == 429


def test_a_forged_link_and_bad_input_get_a_kind_page(maja):
    client = Client()
    assert client.get("/contact/confirm/forged/").status_code == 404
    assert client.post("/contact/confirm/forged/").status_code == 404
    response = client.post("/contact/", {"email": "not an address", "subject": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "error" in response.content.decode()


def test_a_signed_in_customer_is_sent_to_their_own_form(alice):
    client = Client()
    client.force_login(alice.user)
    response = client.get("/contact/")
    assert response.status_code == 302 and response["Location"] == "/my/tickets/new/"
