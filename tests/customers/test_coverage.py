"""Coverage (story 5): anyone can ask which of our services exist at a postcode, on a page and through
``GET /api/v1/coverage/?postcode=``, from the catalogue's availability data, in their language."""

from __future__ import annotations

import pytest
from django.test import Client

from customers.models import Area
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.core]


@pytest.fixture
def archipelago(db):
    """Nagu (no 4G, as in story 5) and Helsinki city (everything), under Finland."""
    fi = factories.AreaFactory(code="fi", name="Suomi", kind=Area.Kind.COUNTRY, parent=None)
    parainen = factories.AreaFactory(code="fi-19-445", name="Parainen", names={"sv": "Pargas"}, parent=fi)
    nagu = factories.AreaFactory(
        code="fi-21660",
        name="21660 Nauvo",
        names={"sv": "21660 Nagu"},
        kind=Area.Kind.POSTCODE,
        parent=parainen,
    )
    city = factories.AreaFactory(code="fi-00100", name="00100 Helsinki", kind=Area.Kind.POSTCODE, parent=fi)
    dsl = factories.ServiceFactory(
        code="dsl", name="DSL broadband", names={"sv": "DSL-bredband", "fi": "DSL-laajakaista"}
    )
    lte = factories.ServiceFactory(code="mobile-4g", name="Mobile 4G", names={"sv": "Mobilt bredband 4G"})
    email = factories.ServiceFactory(code="email", name="E-mail", names={"sv": "E-post", "fi": "Sähköposti"})
    nagu.services.add(dsl, email)
    city.services.add(dsl, lte, email)
    return {"nagu": nagu, "parainen": parainen}


def test_the_page_says_what_exists_at_a_postcode_and_what_does_not(archipelago):
    response = Client().get("/coverage/", {"q": "21660"}, HTTP_ACCEPT_LANGUAGE="sv")
    body = response.content.decode()
    assert response.status_code == 200
    assert "21660 Nagu" in body
    available, missing = body.split("Finns inte här")
    assert "DSL-bredband" in available and "E-post" in available
    assert "Mobilt bredband 4G" in missing and "Mobilt bredband 4G" not in available


def test_a_municipality_has_what_its_postcodes_have(archipelago):
    body = Client().get("/coverage/", {"q": "Pargas"}, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "DSL-bredband" in body.split("Finns inte här")[0]


def test_the_page_costs_three_queries_and_answers_an_unknown_place_kindly(
    archipelago, django_assert_num_queries
):
    with django_assert_num_queries(3):  # the place, every service, those available there
        assert Client().get("/coverage/", {"q": "21660"}).status_code == 200
    response = Client().get("/coverage/", {"q": "Atlantis"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404 and "We could not find" in response.content.decode()


def test_the_api_lists_available_services_by_code_in_the_askers_language(archipelago):
    response = Client().get("/api/v1/coverage/", {"postcode": "21660"}, HTTP_ACCEPT_LANGUAGE="fi")
    assert response.status_code == 200
    assert response.json() == {
        "area": {"code": "fi-21660", "name": "21660 Nauvo", "kind": "postcode"},
        "services": [{"code": "dsl", "name": "DSL-laajakaista"}, {"code": "email", "name": "Sähköposti"}],
        "not_available": ["mobile-4g"],
    }


def test_the_api_refuses_a_missing_or_unknown_postcode_with_json_naming_the_field(archipelago):
    missing = Client().get("/api/v1/coverage/")
    assert missing.status_code == 400 and "postcode" in missing.json()["fields"]
    unknown = Client().get("/api/v1/coverage/", {"postcode": "99999"})
    assert unknown.status_code == 404 and "postcode" in unknown.json()["fields"]
    # A place name is not a postcode.
    assert Client().get("/api/v1/coverage/", {"postcode": "Pargas"}).status_code == 404


def test_the_coverage_and_status_endpoints_are_in_the_openapi_schema():
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/coverage/" in schema and "not_available" in schema
    assert "postcode" in schema.split("/api/v1/status/")[1].split("/api/v1/")[0]
