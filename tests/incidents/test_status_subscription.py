"""Following a place's status by e-mail, read from a real local SMTP server: double opt-in (nothing
but the confirmation until the link's button is pressed), notices when an incident touches the
place and when it is fixed, one-click unsubscribe, a honeypot and a rate limit."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from customers.models import Area
from incidents.models import StatusSubscription
from incidents.services import incident_resolve
from notifications.models import Notification
from tests import factories
from tests.notifications import conftest as mail_fixtures
from tests.notifications.conftest import text_and_html

smtp = mail_fixtures.smtp  # the local SMTP server fixture

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def place(db):
    fi = factories.AreaFactory(code="fi", name="Suomi", kind=Area.Kind.COUNTRY, parent=None)
    hki = factories.AreaFactory(code="fi-18-091", name="Helsinki", names={"sv": "Helsingfors"}, parent=fi)
    postcode = factories.AreaFactory(
        code="fi-00100",
        name="00100 Helsinki",
        names={"sv": "00100 Helsingfors"},
        kind=Area.Kind.POSTCODE,
        parent=hki,
    )
    other = factories.AreaFactory(code="fi-18-049", name="Espoo", parent=fi)
    fibre = factories.ServiceFactory(code="broadband", name="Fibre broadband")
    email = factories.ServiceFactory(code="email", name="E-mail")
    postcode.services.add(fibre, email)
    return {"postcode": postcode, "helsinki": hki, "espoo": other, "fibre": fibre, "email": email}


def subscribe(
    client, capture, *, email="maja@example.com", area="fi-00100", service="", ip="198.51.100.4", **extra
):
    with capture(execute=True):
        return client.post(
            "/status/subscribe/",
            {"email": email, "area": area, "service": service, **extra},
            REMOTE_ADDR=ip,
            HTTP_ACCEPT_LANGUAGE="sv",
        )


def urls_in(message, path: str) -> str:
    text, html = text_and_html(message)
    [url] = re.findall(rf"https://desk\.example({path}[^\s\"<]+/)", text)
    assert url in html
    return url


def declare(ops, capture, **fields):
    with capture(execute=True):
        return factories.declare_incident(actor=ops, **fields).incident


def test_following_a_place_is_confirmed_by_the_emailed_link_then_notices_arrive(
    place, ops, smtp, django_capture_on_commit_callbacks
):
    client = Client()
    response = subscribe(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == "/status/subscribe/sent/"
    [confirm] = smtp.to("maja@example.com")
    assert "00100 Helsingfors" in confirm["Subject"]  # in the language the visitor used
    url = urls_in(confirm, "/status/subscribe/")

    # Not confirmed yet: an incident there sends nothing.
    declare(ops, django_capture_on_commit_callbacks, title="Early", areas=[place["helsinki"]])
    assert len(smtp.to("maja@example.com")) == 1

    assert client.get(url).status_code == 200  # a mail scanner opening the link confirms nothing
    assert StatusSubscription.objects.get().confirmed_at is None
    assert client.post(url).status_code == 200
    assert StatusSubscription.objects.get().confirmed_at is not None

    incident = declare(
        ops,
        django_capture_on_commit_callbacks,
        title="Fibre down",
        titles={"sv": "Fibern ligger nere"},
        services=[place["fibre"]],
        areas=[place["helsinki"]],
        public_message={"sv": "Vi vet om felet och jobbar på det."},
    )
    declare(ops, django_capture_on_commit_callbacks, title="Espoo only", areas=[place["espoo"]])
    [_, notice] = smtp.to("maja@example.com")
    text, _html = text_and_html(notice)
    assert "Fibern ligger nere" in notice["Subject"]
    assert "Vi vet om felet och jobbar på det." in text and "ursäkt" in text
    assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert notice["Auto-Submitted"] == "auto-generated"

    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=ops)
    fixed = smtp.to("maja@example.com")[-1]
    assert fixed["Subject"] == "Fixat på 00100 Helsingfors: Fibern ligger nere"

    # One-click unsubscribe (RFC 8058): a cookie-less POST to the link in the header.
    link = str(fixed["List-Unsubscribe"]).strip().strip("<>").removeprefix("https://desk.example")
    assert Client(enforce_csrf_checks=True).post(link).status_code == 200
    assert not StatusSubscription.objects.exists()
    declare(ops, django_capture_on_commit_callbacks, title="After", areas=[place["postcode"]])
    assert len(smtp.to("maja@example.com")) == 3


def test_a_subscription_for_one_service_hears_only_about_that_service(
    place, ops, smtp, django_capture_on_commit_callbacks
):
    StatusSubscription.objects.create(
        email="a@example.com",
        area=place["postcode"],
        service=place["email"],
        confirmed_at="2026-01-01T00:00Z",
    )
    declare(
        ops,
        django_capture_on_commit_callbacks,
        title="Fibre",
        services=[place["fibre"]],
        areas=[place["helsinki"]],
    )
    assert smtp.to("a@example.com") == []
    declare(
        ops,
        django_capture_on_commit_callbacks,
        title="Mail",
        services=[place["email"]],
        areas=[place["helsinki"]],
    )
    assert len(smtp.to("a@example.com")) == 1


def test_asking_again_sends_a_new_confirmation_but_never_a_second_row(
    place, smtp, django_capture_on_commit_callbacks
):
    client = Client()
    subscribe(client, django_capture_on_commit_callbacks)
    cache.clear()
    subscribe(client, django_capture_on_commit_callbacks, email="MAJA@example.com")
    assert StatusSubscription.objects.count() == 1
    assert Notification.objects.filter(kind=Notification.Kind.STATUS_CONFIRM).count() >= 1


def test_a_filled_honeypot_stores_and_sends_nothing(place, smtp, django_capture_on_commit_callbacks):
    response = subscribe(Client(), django_capture_on_commit_callbacks, website="http://spam.example")
    assert response.status_code == 302  # the robot is told what a person is told
    assert not StatusSubscription.objects.exists() and smtp.messages == []


def test_requests_are_rate_limited_per_address(place, smtp, django_capture_on_commit_callbacks):
    client = Client()
    for _ in range(3):
        assert subscribe(client, django_capture_on_commit_callbacks).status_code == 302
    assert subscribe(client, django_capture_on_commit_callbacks).status_code == 429


def test_bad_links_and_bad_input_get_a_kind_page_never_a_500(place):
    client = Client()
    assert client.get("/status/subscribe/forged/").status_code == 404
    assert client.post("/status/unsubscribe/forged/").status_code == 404
    assert (
        client.post("/status/subscribe/", {"email": "not-an-address", "area": "fi-00100"}).status_code == 400
    )
    assert client.post("/status/subscribe/", {"email": "a@example.com", "area": "nowhere"}).status_code == 400
