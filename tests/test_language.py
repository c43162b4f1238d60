"""Customers are spoken to in the language on their profile; an explicit choice wins."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.core]


def test_a_finnish_customer_gets_finnish_pages_after_login(client, bob):
    client.post(reverse("login"), {"username": "bob", "password": "pw-bob"})
    response = client.get(reverse("tickets:my_tickets"))
    assert response["Content-Language"] == "fi"
    assert '<html lang="fi">' in response.content.decode()


def test_the_language_switcher_overrides_the_profile(client, bob, settings):
    client.post(reverse("login"), {"username": "bob", "password": "pw-bob"})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.get(reverse("tickets:my_tickets"))["Content-Language"] == "en"


def test_staff_keep_their_browser_language(client, agent):
    client.post(reverse("login"), {"username": "anna", "password": "pw-anna"}, HTTP_ACCEPT_LANGUAGE="sv")
    assert client.get(reverse("tickets:queue"), HTTP_ACCEPT_LANGUAGE="sv")["Content-Language"] == "sv"


def test_anyone_can_switch_language_from_the_top_bar(client):
    response = client.post(reverse("set_language"), {"language": "sv", "next": "/status/"})
    assert response.status_code == 302
    assert client.get("/status/")["Content-Language"] == "sv"
