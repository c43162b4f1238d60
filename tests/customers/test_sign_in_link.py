"""Customers sign in by a one-time link e-mailed through the outbox, read here from a real local SMTP
server: the link expires, works once, is rate-limited, and never tells whether an address is ours."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from core import roles
from customers import signin
from customers.models import Customer, SignInLink
from notifications.models import Notification
from tests import factories
from tests.conftest import make_user
from tests.notifications.conftest import text_and_html

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    cache.clear()  # the counters live in this branch's own Redis db
    yield
    cache.clear()


def ask(client, email: str, ip: str = "203.0.113.7", capture=None):
    with capture(execute=True):
        return client.post(reverse("customers:sign_in_link"), {"email": email}, REMOTE_ADDR=ip)


def link_in(message) -> str:
    text, html = text_and_html(message)
    [url] = re.findall(r"https://desk\.example(/accounts/email-link/[^/\s]+/)", text)
    assert url in html
    return url


def test_a_customer_without_a_login_signs_in_by_the_emailed_link_and_gets_a_login(
    client, smtp, django_capture_on_commit_callbacks
):
    customer = factories.CustomerFactory(email="Maja@Example.com", language="fi", user=None)
    response = ask(client, "maja@example.com", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:sign_in_link_sent")
    [message] = smtp.to("Maja@Example.com")
    assert "Hei" in text_and_html(message)[0]  # in the customer's language
    url = link_in(message)

    page = client.get(url)  # a mail scanner opening the link spends nothing
    assert page.status_code == 200 and SignInLink.objects.get().used_at is None

    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("tickets:my_tickets")
    customer.refresh_from_db()
    user = customer.user
    assert user is not None and user.username == customer.number
    assert not user.has_usable_password()  # a password stays optional
    assert roles.roles_of(user) == {roles.CUSTOMER}
    assert client.get(reverse("tickets:my_tickets")).status_code == 200
    assert client.session["supportdesk_language"] == "fi"


def test_a_link_works_once(client, smtp, django_capture_on_commit_callbacks, alice):
    ask(client, alice.email, capture=django_capture_on_commit_callbacks)
    url = link_in(smtp.to(alice.email)[0])
    assert client.post(url).status_code == 302
    client.logout()
    again = client.post(url)
    assert again.status_code == 404
    assert reverse("customers:sign_in_link") in again.content.decode()  # offers a new link
    assert "_auth_user_id" not in client.session


def test_using_one_link_spends_the_customers_other_links(django_capture_on_commit_callbacks, alice):
    first = SignInLink.objects.create(customer=alice)
    second = SignInLink.objects.create(customer=alice)
    assert signin.sign_in_link_use(token=signin.sign_in_token(second)) == alice.user
    assert signin.sign_in_link_use(token=signin.sign_in_token(first)) is None


def test_an_expired_link_does_not_sign_in(client, settings, alice):
    link = SignInLink.objects.create(customer=alice)
    SignInLink.objects.filter(pk=link.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.SIGN_IN_LINK_MAX_AGE + 1)
    )
    url = reverse("customers:sign_in_by_link", args=[signin.sign_in_token(link)])
    assert client.post(url).status_code == 404
    assert "_auth_user_id" not in client.session


def test_a_forged_or_cut_token_is_refused(client, alice):
    link = SignInLink.objects.create(customer=alice)
    token = signin.sign_in_token(link)
    forged = token.replace(token.split(":")[0], str(link.pk + 1))
    for bad in (forged, token[:-3], "1"):
        assert client.post(reverse("customers:sign_in_by_link", args=[bad])).status_code == 404
    assert SignInLink.objects.get().used_at is None


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    client, smtp, django_capture_on_commit_callbacks, alice
):
    known = ask(client, alice.email, ip="198.51.100.1", capture=django_capture_on_commit_callbacks)
    unknown = ask(client, "nobody@example.com", ip="198.51.100.2", capture=django_capture_on_commit_callbacks)
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert smtp.to("nobody@example.com") == []
    assert Notification.objects.filter(kind="sign-in-link").count() == 1


def test_requests_are_limited_per_address_whether_or_not_it_is_ours(
    client, settings, django_capture_on_commit_callbacks, alice
):
    for email in (alice.email, "nobody@example.com"):
        codes = [
            ask(client, email, ip=f"192.0.2.{i}", capture=django_capture_on_commit_callbacks).status_code
            for i in range(settings.SIGN_IN_RATE_PER_ADDRESS + 1)
        ]
        assert codes == [302] * settings.SIGN_IN_RATE_PER_ADDRESS + [429]
    assert SignInLink.objects.count() == settings.SIGN_IN_RATE_PER_ADDRESS


def test_requests_are_limited_per_network_address(client, settings, django_capture_on_commit_callbacks):
    settings.SIGN_IN_RATE_PER_IP = 2
    codes = [
        ask(
            client, f"x{i}@example.com", ip="192.0.2.50", capture=django_capture_on_commit_callbacks
        ).status_code
        for i in range(3)
    ]
    assert codes == [302, 302, 429]


def test_a_staff_login_cannot_be_reached_through_a_customer_address(db):
    staff = make_user("sven", roles.AGENT)
    customer = factories.CustomerFactory(user=staff)
    link = SignInLink.objects.create(customer=customer)
    assert signin.sign_in_link_use(token=signin.sign_in_token(link)) is None
    assert Customer.objects.get(pk=customer.pk).user == staff
