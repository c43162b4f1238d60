"""One phone normaliser: the look-up page, the look-up API and the customer directory find a caller
by any common Swedish or Finnish format, caller-ID style, and a ``+`` that a URL turned into a space."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.phones import phone_candidates
from tests import factories


@pytest.mark.core
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("+46731112233", ["+46731112233"]),
        ("46731112233", ["+46731112233"]),  # caller-ID without the plus
        (" 46731112233", ["+46731112233"]),  # "+" decoded from a URL query as a space
        ("+46 (0)73-111 22 33", ["+46731112233"]),
        ("0046731112233", ["+46731112233"]),
        ("073-111 22 33", ["+46731112233"]),  # national: Swedish first, Finnish too where valid
        ("+358 40 123 4567", ["+358401234567"]),
        ("040 123 4567", ["+46401234567", "+358401234567"]),
    ],
)
def test_common_formats_normalise_to_e164(typed, expected):
    assert phone_candidates(typed) == expected


@pytest.mark.core
@pytest.mark.parametrize("typed", ["Karin", "SD-205", "12345", "", "karin@example.com"])
def test_text_that_is_no_phone_number_gives_no_candidates(typed):
    assert phone_candidates(typed) == []


@pytest.fixture
def caller(db):
    customer = factories.CustomerFactory(name="Karin Lindqvist", phone="+46731112233")
    factories.SubscriptionFactory(customer=customer, address="Storgatan 1")
    return customer


@pytest.mark.core
@pytest.mark.parametrize("typed", ["46731112233", "+46 (0)73-111 22 33", "073-111 22 33"])
def test_lookup_page_finds_the_caller_and_shows_phone_and_address(client, agent, caller, typed):
    client.force_login(agent)
    body = client.get(reverse("tickets:lookup"), {"q": typed}).content.decode()
    assert "Karin Lindqvist" in body
    assert "+46731112233" in body
    assert "Storgatan 1" in body


@pytest.mark.core
def test_screen_pop_url_with_a_raw_plus_finds_the_caller(client, agent, caller):
    client.force_login(agent)
    body = client.get(reverse("tickets:lookup") + "?q=+46731112233").content.decode()
    assert "Karin Lindqvist" in body


@pytest.mark.core
@pytest.mark.parametrize("typed", ["070-123 45 67", "46701234567", "+46701234567"])
def test_lookup_api_and_page_agree_on_national_and_caller_id_forms(client, agent, typed):
    customer = factories.CustomerFactory(name="Olle", phone="+46701234567")
    client.force_login(agent)
    response = client.get("/api/v1/lookup/", {"phone": typed})
    assert response.status_code == 200
    assert response.json()["customer"]["number"] == customer.number
    body = client.get(reverse("tickets:lookup"), {"q": typed}).content.decode()
    assert "Olle" in body


@pytest.mark.core
def test_customer_directory_finds_by_any_phone_form(client, agent, caller):
    client.force_login(agent)
    results = client.get("/api/v1/customers/", {"q": "073-111 22 33"}).json()["results"]
    assert [c["number"] for c in results] == [caller.number]


@pytest.mark.core
def test_unknown_phone_is_a_404_from_the_lookup_api(client, agent, caller):
    client.force_login(agent)
    assert client.get("/api/v1/lookup/", {"phone": "+46709999999"}).status_code == 404
