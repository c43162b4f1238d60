"""Integers are ASCII digits and fit the database; pages are bounded; bad input is a 400, never a 500."""

from __future__ import annotations

import pytest

from core.errors import DomainError
from core.parsing import parse_int
from tests import factories
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.core]

HOSTILE_INTEGERS = ["²", "٣", "1_000", " 7", "-1", "+1", "99999999999999999999999", "0x10", "1e3", "１"]


@pytest.mark.parametrize("raw", HOSTILE_INTEGERS)
def test_parse_int_refuses_anything_but_ascii_digits_that_fit(raw):
    with pytest.raises(DomainError) as caught:
        parse_int(raw, field="before")
    assert caught.value.field == "before"


def test_parse_int_reads_plain_digits_and_bounds():
    assert parse_int("42", field="x") == 42
    with pytest.raises(DomainError):
        parse_int("5", field="x", maximum=4)


@pytest.mark.parametrize("reference", ["SD-²", "SD-٣", "SD-99999999999999999999999", "SD-", "SD-1_0"])
def test_a_reference_with_non_ascii_or_huge_digits_is_no_reference(reference):
    assert Ticket.pk_from_reference(reference) is None


def test_a_customer_asking_for_a_unicode_digit_reference_gets_a_json_404(client, alice):
    client.force_login(alice.user)
    response = client.get("/api/v1/tickets/SD-%C2%B2/")
    assert response.status_code == 404
    assert response.json()["error"]


def test_staff_ticket_page_with_a_unicode_digit_reference_is_a_404(client, agent):
    client.force_login(agent)
    assert client.get("/desk/tickets/SD-%C2%B2/").status_code == 404


@pytest.mark.parametrize(
    "cursor", ["²", "99999999999999999999999", "1_99999999999999999999999", "-3_²", "abc"]
)
def test_a_bad_queue_cursor_shows_the_first_page_instead_of_failing(client, agent, cursor):
    # The queue's keyset cursor (?after=) is the page's own link; a mangled one is not worth an
    # error page to an agent mid-call, so it reads as "from the start".
    from tests.factories import open_ticket

    ticket = open_ticket(subject="Router blinks red")
    client.force_login(agent)
    response = client.get("/desk/queue/", {"after": cursor})
    assert response.status_code == 200
    assert ticket.subject in response.content.decode()


def test_the_incident_filter_refuses_unicode_digits(client, agent):
    client.force_login(agent)
    response = client.get("/api/v1/tickets/", {"incident": "²"})
    assert response.status_code == 400
    assert "incident" in response.json()["fields"]


class TestPages:
    @pytest.fixture
    def tickets(self, alice, agent):
        return [factories.open_ticket(customer=alice, actor=agent) for _ in range(3)]

    def test_a_page_larger_than_the_maximum_is_refused(self, client, agent, tickets, settings):
        settings.API_MAX_PAGE_SIZE = 2
        client.force_login(agent)
        response = client.get("/api/v1/tickets/", {"limit": "3"})
        assert response.status_code == 400
        assert "limit" in response.json()["fields"]

    def test_a_page_within_the_maximum_is_served(self, client, agent, tickets, settings):
        settings.API_MAX_PAGE_SIZE = 2
        client.force_login(agent)
        response = client.get("/api/v1/tickets/", {"limit": "2"})
        assert response.status_code == 200
        assert len(response.json()["results"]) == 2

    def test_without_a_limit_the_default_page_is_bounded_by_the_maximum(
        self, client, agent, tickets, settings
    ):
        settings.API_MAX_PAGE_SIZE = 2
        client.force_login(agent)
        assert len(client.get("/api/v1/tickets/").json()["results"]) == 2

    @pytest.mark.parametrize("url", ["/api/v1/tickets/", "/api/v1/incidents/", "/api/v1/customers/"])
    @pytest.mark.parametrize(
        "params",
        [{"limit": "99999999999999999999999"}, {"offset": "99999999999999999999999"}, {"limit": "²"}],
    )
    def test_huge_or_unicode_paging_parameters_are_a_400_on_every_list(self, client, ops, url, params):
        client.force_login(ops)
        response = client.get(url, params)
        assert response.status_code == 400
        assert set(response.json()["fields"]) == set(params)


@pytest.mark.parametrize(
    "url,param",
    [
        ("/api/v1/areas/", "q"),
        ("/api/v1/customers/", "q"),
        ("/api/v1/lookup/", "customer"),
        ("/api/v1/lookup/", "email"),
        ("/api/v1/tickets/", "status"),
    ],
)
def test_nul_in_an_api_query_parameter_is_a_json_400_naming_it(client, ops, url, param):
    # (A lone surrogate cannot arrive in a query string: Django decodes invalid UTF-8 as U+FFFD.)
    client.force_login(ops)
    response = client.get(url, {param: "a\x00b"})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [param]


def test_nul_in_a_page_query_parameter_is_a_400(client, agent):
    client.force_login(agent)
    response = client.get("/desk/lookup/", {"q": "\x00"})
    assert response.status_code == 400


def test_an_unknown_api_url_is_a_json_404(client, agent):
    client.force_login(agent)
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found.", "fields": {}}


@pytest.mark.urls("tests.urls_failing")
def test_an_unhandled_api_error_is_a_json_500_without_its_text(client):
    client.raise_request_exception = False
    response = client.get("/api/v1/failing/")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error.", "fields": {}}
    assert "postgres" not in response.content.decode()


def test_nul_in_a_form_field_of_a_page_is_a_400_naming_the_field(client, ops):
    # Django's CharField refuses NUL, its choice fields do not: the scope pickers would query with it.
    client.force_login(ops)
    response = client.post("/ops/incidents/new/", {"title": "t", "services": "email\x00"})
    assert response.status_code == 400
    assert "services" in response.content.decode()


def test_a_next_that_is_no_url_does_not_become_a_view_name(client, ops, alice):
    # redirect("99999") would try to reverse "99999" as a view name and fail with a 500.
    ticket = factories.open_ticket(customer=alice)
    incident = factories.declare_incident(actor=ops).incident
    client.force_login(ops)
    response = client.post(
        f"/ops/incidents/{incident.pk}/tickets/{ticket.reference}/detach/",
        {"next": "99999999999999999999999"},
    )
    assert response.status_code == 302


def test_a_bulk_action_with_a_next_that_is_no_view_name_is_a_redirect_not_a_500(client, agent, alice):
    ticket = factories.open_ticket(customer=alice)
    client.force_login(agent)
    response = client.post(
        "/desk/queue/bulk/", {"t": str(ticket.pk), "action": "assign-me", "next": "99999999999999999999999"}
    )
    assert response.status_code == 302  # a relative URL on this site: harmless
    evil = client.post(
        "/desk/queue/bulk/", {"t": str(ticket.pk), "action": "unassign", "next": "https://evil.example/"}
    )
    assert evil["Location"] == "/desk/queue/"
