"""A hostile-input corpus generated from the URLconf: every route, as an anonymous caller, a customer
and a staff member, gets NUL bytes, lone surrogates, huge integers, Unicode digits, overlong strings,
broken JSON and wrongly typed fields — in the path, the query string and the body. No answer may be a
5xx. A new endpoint is covered by being in the URLconf; nothing here names it.

Each route is first reached with real values (a ticket, a customer, an incident, an alert that
exist), so the view gets past its lookup and the hostile query and body reach its parsing; then each
path parameter in turn takes each hostile value.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from core import roles
from tests import factories
from tests.conftest import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.core]

# Path and query values. Percent-encoded where a client would have to encode them.
HOSTILE_VALUES = [
    "%00",  # NUL
    "a%00b",
    "%ED%A0%80",  # a lone surrogate, as UTF-8 bytes (invalid UTF-8)
    "%EF%BF%BE",  # U+FFFE, a noncharacter
    "99999999999999999999999",  # over bigint
    "9223372036854775808",  # bigint max + 1
    "-1",
    "0",
    "%C2%B2",  # ², a Unicode digit
    "%D9%A3",  # ٣, an Arabic-Indic digit
    "%EF%BC%91",  # １, a fullwidth digit
    "1e309",
    "NaN",
    "x" * 3000,  # overlong
    "%27%20OR%201%3D1--",  # ' OR 1=1--
    "..%2F..%2Fetc%2Fpasswd",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "%F0%9F%92%A9",  # an emoji (4-byte UTF-8)
    "2026-03-29T02:30:00",  # a local time that does not exist in Stockholm
    "SD-%C2%B2",
    "SD-99999999999999999999999",
]

# Query parameter names the views read (and some they do not): each gets each hostile value.
QUERY_NAMES = [
    "q", "status", "queue", "incident", "limit", "offset", "cursor", "page", "page_size", "before",
    "after", "customer", "email", "phone", "area", "service", "postcode", "subscription", "range",
    "next", "kind", "dimension", "selected", "since", "format", "o", "p", "all",
]  # fmt: skip

NUL = "\x00"
HUGE = 10**30
DEEP = "[" * 5000 + "]" * 5000

# Body fields the forms and serializers read: each body below sets all of them at once.
BODY_FIELDS = [
    "customer", "subject", "description", "category", "channel", "priority", "service", "area",
    "equipment", "subscription", "body", "public", "status", "assignee", "summary", "tried",
    "customer_impact", "title", "kind", "severity", "services", "areas", "keywords", "public_message",
    "agent_script", "workaround", "started_at", "eta", "message", "reference", "reason", "keep_open",
    "username", "password", "email", "phone", "q", "language", "next", "incident", "alert_id",
    "state", "affects_everyone", "notify_customers", "receiver", "alerts", "version", "note",
]  # fmt: skip

WRONG_TYPES = [
    NUL,
    "a\ud800b",  # a lone surrogate (JSON can carry it as \ud800)
    HUGE,
    -HUGE,
    1.5e308,
    "x" * 100_000,
    ["x", NUL],
    {"sv": NUL, "fi": "\ud800", "xx": 1},
    None,
    True,
    "2026-03-29T02:30:00",
    "2026-10-25T02:30:00",
]

JSON_BODIES = [
    "{",
    "",
    "null",
    "[]",
    '"a string"',
    "1e999",
    DEEP,
    '{"a": NaN}',
    *(json.dumps(dict.fromkeys(BODY_FIELDS, value)) for value in WRONG_TYPES),
]
FORM_BODIES = [
    dict.fromkeys(BODY_FIELDS, "\x00"),
    dict.fromkeys(BODY_FIELDS, "99999999999999999999999"),
    dict.fromkeys(BODY_FIELDS, "²"),
    dict.fromkeys(BODY_FIELDS[:10], "x" * 30000),
    {name: ["a", "b"] for name in BODY_FIELDS},
]

CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def _routes(patterns=None, prefix=""):
    """(route template, name) for every route of the URLconf built from path()/include()."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if not isinstance(p.pattern, RoutePattern):
            continue  # regex routes: Django's own (admin's app index), not ours
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route, p.name or ""


# The admin is Django's; its pages are covered for the staff persona on the index and the lists.
ROUTES = sorted(
    {
        (route, name)
        for route, name in _routes()
        if not route.startswith("admin/") or route.count("/") <= 3 and "<" not in route
    }
)


@pytest.fixture
def world(alice, bob, settings):
    """Real objects for every kind of path parameter, and a staff user who holds every staff role."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    staff = make_user("stina", *roles.STAFF_ROLES, is_staff=True, is_superuser=True)
    service = factories.ServiceFactory(code="email")
    ticket = factories.open_ticket(customer=alice, service=service)
    factories.open_ticket(customer=bob)
    incident = factories.declare_incident(actor=staff, services=[service]).incident
    from notifications.models import Alert

    alert = Alert.objects.filter(incident=incident).first()
    return {
        "staff": staff,
        "values": {
            "reference": ticket.reference,
            "number": alice.number,
            "pk": str(incident.pk),
            "incident_id": str(incident.pk),
            "alert_id": str(alert.pk if alert else 1),
            "dimension": "services",
            "token": "x",
        },
    }


def _fill(route: str, values: dict[str, str], override: tuple[str, str] | None = None) -> str:
    def sub(match):
        name = match["name"]
        if override and override[0] == name:
            return override[1]
        return values.get(name, "1")

    return "/" + CONVERTER.sub(sub, route)


# Each route gets a quarter of each list, a different quarter per route (by its index), so a run stays
# near a minute while the whole corpus is still used across the routes.
SHARE = 4


def _share(values: list, index: int) -> list:
    return values[index % SHARE :: SHARE]


def _requests(route: str, values: dict[str, str], index: int):
    """(method, url, body, content type) for one route."""
    url = _fill(route, values)
    for value in _share(HOSTILE_VALUES, index):
        yield "GET", url + "?" + "&".join(f"{n}={value}" for n in QUERY_NAMES), None, None
    for name in (m[1] for m in CONVERTER.findall(route)):
        for value in _share(HOSTILE_VALUES, index + 1):
            yield "GET", _fill(route, values, (name, value)), None, None
        yield (
            "POST",
            _fill(route, values, (name, HOSTILE_VALUES[index % len(HOSTILE_VALUES)])),
            "{}",
            "application/json",
        )
    for body in _share(JSON_BODIES, index):
        yield "POST", url, body, "application/json"
    yield "PATCH", url, JSON_BODIES[(index + 8) % len(JSON_BODIES)], "application/json"
    yield "DELETE", url, None, None
    yield "POST", url, FORM_BODIES[index % len(FORM_BODIES)], "multipart/form-data"
    yield "POST", url, b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded; charset=utf-8"
    yield "POST", url, b"--x\r\nbroken multipart", "multipart/form-data; boundary=x"


def _send(client: Client, method: str, url: str, body, content_type):
    if method == "GET":
        return client.get(url)
    if content_type == "multipart/form-data":
        return client.post(url, body)
    return client.generic(method, url, body or "", content_type=content_type or "application/octet-stream")


@pytest.mark.parametrize("persona", ["anonymous", "customer", "staff"])
def test_no_route_answers_hostile_input_with_a_5xx(world, alice, persona):
    # One test per persona, walking every route: the state the staff's POSTs leave behind (a resolved
    # incident, a closed ticket) is just more hostile ground for the routes after them.
    client = Client(raise_request_exception=False)
    user = {"customer": alice.user, "staff": world["staff"]}.get(persona)
    failures, sent = [], 0
    for index, (route, name) in enumerate(ROUTES):
        if user is not None:
            client.force_login(user)  # again: the logout routes (and the lockout) end the session
        for method, url, body, content_type in _requests(route, world["values"], index):
            response = _send(client, method, url, body, content_type)
            sent += 1
            if response.status_code >= 500 and not (name == "readyz" and response.status_code == 503):
                failures.append(f"{method} {url[:160]} {str(body)[:80]!r} → {response.status_code}")
    assert failures == []
    assert sent > 1000  # the corpus did run


def test_the_corpus_covers_the_api_and_the_pages():
    routes = {route for route, _ in ROUTES}
    assert "api/v1/tickets/<str:reference>/" in routes
    assert "desk/tickets/<str:reference>/" in routes
    assert "admin/" in routes
    assert len(routes) > 60
