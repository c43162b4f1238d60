"""API lists are paged by cursor with a bounded page size (DESIGN.md, API contract): a client walks
every row once by following ``next``, rows arriving meanwhile shift nothing, a cursor that is not
one we gave out is a 400 naming ``cursor``, no list counts its table, and the schema says so."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Area, Service
from incidents.models import Incident
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.core]


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def walk(client, url: str, params: dict) -> list[dict]:
    """Every page from the first by ``next``; the pages' results in order."""
    pages, page = [], client.get(url, params).json()
    pages.append(page)
    while page["next"]:
        page = client.get(page["next"]).json()
        pages.append(page)
    return pages


def cursor_of(data) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.fixture
def tickets(alice, agent):
    return [factories.open_ticket(customer=alice, actor=agent) for _ in range(5)]


def test_following_next_lists_every_ticket_once_newest_first(agent, tickets):
    pages = walk(api(agent), "/api/v1/tickets/", {"page_size": 2})
    assert [len(p["results"]) for p in pages] == [2, 2, 1]
    listed = [t["reference"] for p in pages for t in p["results"]]
    assert listed == [t.reference for t in reversed(tickets)]
    assert pages[0]["previous"] is None and pages[-1]["next"] is None


def test_a_ticket_opened_while_paging_neither_repeats_nor_skips_a_row(agent, alice, tickets):
    client = api(agent)
    first = client.get("/api/v1/tickets/", {"page_size": 2}).json()
    factories.open_ticket(customer=alice, actor=agent)  # newer: it belongs before page 1
    rest = walk(client, first["next"], {})
    listed = [t["reference"] for p in [first, *rest] for t in p["results"]]
    assert listed == [t.reference for t in reversed(tickets)]


def test_previous_leads_back_to_the_page_before(agent, tickets):
    client = api(agent)
    first = client.get("/api/v1/tickets/", {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    assert [t["reference"] for t in back["results"]] == [t["reference"] for t in first["results"]]
    assert back["previous"] is None and back["next"]


def test_the_next_link_keeps_the_filters(agent, alice, tickets):
    from tickets.services import ticket_set_status

    for ticket in tickets[:3]:
        ticket_set_status(ticket=ticket, status="open", actor=agent)
    pages = walk(api(agent), "/api/v1/tickets/", {"status": "open", "limit": 2})
    assert "status=open" in pages[0]["next"] and "page_size=2" in pages[0]["next"]
    assert [t["reference"] for p in pages for t in p["results"]] == [
        t.reference for t in reversed(tickets[:3])
    ]


@pytest.fixture
def email(db):
    return factories.ServiceFactory(code="email")


def test_incidents_started_at_the_same_moment_page_by_id(ops, email):
    at = timezone.now() - timedelta(hours=1)
    made = [factories.declare_incident(actor=ops, services=[email], started_at=at).incident for _ in range(3)]
    later = factories.declare_incident(actor=ops, services=[email]).incident
    pages = walk(api(ops), "/api/v1/incidents/", {"page_size": 2})
    assert [i["id"] for p in pages for i in p["results"]] == [
        later.pk,
        *sorted((i.pk for i in made), reverse=True),
    ]


def test_the_catalogue_and_directory_lists_page_by_cursor(agent, alice, bob):
    for code in ("email", "iptv", "voip"):
        factories.ServiceFactory(code=code)
    for n in range(3):
        factories.AreaFactory(code=f"se-ab-{n}")
    client = api(agent)

    def codes(url, key):
        return [row[key] for page in walk(client, url, {"page_size": 2}) for row in page["results"]]

    assert codes("/api/v1/areas/", "code") == list(
        Area.objects.order_by("path").values_list("code", flat=True)
    )
    assert len(codes("/api/v1/areas/", "code")) > 4
    assert codes("/api/v1/customers/", "number") == sorted([alice.number, bob.number])
    assert codes("/api/v1/services/", "code") == sorted(Service.objects.values_list("code", flat=True))
    assert len(codes("/api/v1/services/", "code")) >= 4


LISTS = [
    "/api/v1/tickets/",
    "/api/v1/incidents/",
    "/api/v1/customers/",
    "/api/v1/areas/",
    "/api/v1/services/",
    "/api/v1/equipment/",
]
BAD_CURSORS = [
    "not-a-cursor",
    "%%%",
    "x" * 3000,
    "é",
    cursor_of("just a string"),
    cursor_of({"k": []}),
    cursor_of({"k": [1, 2, 3, 4]}),
    cursor_of({"k": [True]}),
    cursor_of({"k": [1.5]}),
    cursor_of({"k": [10**30]}),
    cursor_of({"k": [None]}),
    cursor_of({"k": [1], "r": "yes"}),
    cursor_of({"k": [1], "x": 1}),
    cursor_of({"k": ["2026-13-45T99:00:00+00:00", 1]}),
    cursor_of({"k": ["2026-01-01T10:00:00", 1]}),  # no zone
    cursor_of({"k": ["0001-01-01T00:00:00+14:00", 1]}),  # before year 1 in UTC
    cursor_of({"k": ["9999-12-31T23:59:59-14:00", 1]}),  # after 9999 in UTC
    cursor_of({"k": ["a\x00b"]}),
    cursor_of({"k": [{"a": 1}]}),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_cursor_we_did_not_give_out_is_a_400_naming_it(ops, url, cursor):
    response = api(ops).get(url, {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert set(response.json()["fields"]) == {"cursor"}


def test_the_conversation_and_an_incidents_tickets_refuse_a_bad_cursor_too(ops, agent, alice, email):
    ticket = factories.open_ticket(customer=alice, actor=agent)
    incident = factories.declare_incident(actor=ops, services=[email]).incident
    for url in (f"/api/v1/tickets/{ticket.reference}/comments/", f"/api/v1/incidents/{incident.pk}/tickets/"):
        response = api(ops).get(url, {"cursor": cursor_of({"k": ["x"]})})
        assert response.status_code == 400 and "cursor" in response.json()["fields"]


def test_an_id_written_as_text_is_not_a_ticket_cursor(agent, tickets):
    response = api(agent).get("/api/v1/tickets/", {"cursor": cursor_of({"k": [str(tickets[-1].pk)]})})
    assert response.status_code == 400 and set(response.json()["fields"]) == {"cursor"}


@pytest.mark.parametrize("url", LISTS)
def test_an_offset_is_refused_with_a_pointer_to_next(ops, url):
    response = api(ops).get(url, {"offset": "50"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"offset"}


@pytest.mark.parametrize("size", [2, 12])
def test_the_ticket_list_takes_the_same_queries_and_counts_nothing(agent, alice, size):
    for _ in range(size):
        factories.open_ticket(customer=alice, actor=agent)
    client = api(agent)
    client.get("/api/v1/tickets/")  # the forced user keeps its roles from here on
    with CaptureQueriesContext(connection) as queries:
        data = client.get("/api/v1/tickets/", {"page_size": 10}).json()
    assert len(data["results"]) == min(size, 10)
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    # The page (customer, service, area, equipment, assignee joined), its incident links, and on
    # PostgreSQL the planner's estimate: the same whatever the page holds.
    assert len(queries.captured_queries) == (3 if connection.vendor == "postgresql" else 2)


def test_a_large_list_shows_an_estimate_labelled_as_one(agent, tickets):
    data = api(agent).get("/api/v1/tickets/").json()
    if connection.vendor == "postgresql":
        assert isinstance(data["total_estimate"], int) and data["total_estimate"] >= 1
    else:
        assert data["total_estimate"] is None
    assert "total_estimate" not in api(agent).get("/api/v1/services/").json()


def test_the_schema_documents_cursor_pages(db):
    document = APIClient().get("/api/schema/?format=json").json()
    paged = {
        "/api/v1/tickets/": True,
        "/api/v1/incidents/": False,
        "/api/v1/incidents/{id}/tickets/": True,
        "/api/v1/incidents/{id}/credits/": True,
        "/api/v1/tickets/{reference}/comments/": False,
        "/api/v1/customers/": False,
        "/api/v1/areas/": False,
        "/api/v1/services/": False,
        "/api/v1/equipment/": False,
    }
    schemas = document["components"]["schemas"]
    for path, estimated in paged.items():
        get = document["paths"][path]["get"]
        names = {p["name"] for p in get.get("parameters", [])}
        assert {"cursor", "page_size"} <= names and not {"offset", "limit"} & names, path
        ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        properties = schemas[ref.rsplit("/", 1)[1]]["properties"]
        assert {"next", "previous", "results"} <= set(properties), path
        assert "count" not in properties, path
        assert ("total_estimate" in properties) == estimated, path
        if estimated:
            assert "ESTIMATE" in properties["total_estimate"]["description"]


def test_a_proposed_incidents_list_pages_too(ops, email):
    incident = factories.declare_incident(actor=ops, services=[email]).incident
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.PROPOSED)
    response = api(ops).get("/api/v1/incidents/", {"status": "proposed", "cursor": cursor_of({"k": [1]})})
    assert response.status_code == 400
