"""Roles: each lands on its home; every view declares who may use it; customers stay in their lane."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.core]

# Views anyone may open, on purpose.
PUBLIC_VIEWS = {
    "home",
    "healthz",
    "readyz",
    "login",
    "logout",
    "status",
    "set_language",
    "schema",
    "api-docs",
    "api-token",
    "api-status",
    "sign_in_link",  # asking for a sign-in link: how a customer without a login gets one
    "sign_in_link_sent",
    "sign_in_by_link",  # the signed, one-time token in the URL is the authorisation
    "unsubscribe",  # RFC 8058 one-click: the signed token in the URL is the authorisation
    "coverage",  # "can I get it where I live?" needs no account (story 5)
    "api-coverage",
    "status-feed",  # the status page's Atom feed, per area
    "status-subscribe",  # following a place's status by e-mail: double opt-in, rate-limited
    "status-subscribe-sent",
    "status-subscribe-confirm",  # the signed token in the URL is the authorisation
    "status-unsubscribe",  # RFC 8058 one-click, as "unsubscribe"
    "contact",  # writing to us without an account (story 6); rate-limited, confirmed by e-mail
    "contact_sent",
    "contact_confirm",  # the signed token in the URL is the authorisation
}

# Called by monitoring systems, not people: a receiver's bearer token instead of a role.
RECEIVER_TOKEN_VIEWS = {"api-hook-alertmanager"}


def _walk(patterns, namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, ns)
        elif isinstance(p, URLPattern):
            yield namespace, p


def test_every_view_of_ours_declares_who_may_use_it():
    undeclared = []
    for namespace, pattern in _walk(get_resolver().url_patterns):
        if namespace.startswith("admin") or not pattern.name:
            continue
        view = pattern.callback
        if pattern.name in PUBLIC_VIEWS:
            continue
        if pattern.name in RECEIVER_TOKEN_VIEWS:
            names = [c.__name__ for c in view.view_class.permission_classes]
            assert names == ["IsMonitoringReceiver"], pattern.name
            continue
        view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
        if view_class is not None:  # DRF: must name its roles, not just rely on "logged in"
            names = [c.__name__ for c in getattr(view_class, "permission_classes", [])]
            if not any(n.startswith("HasRole") for n in names):
                undeclared.append(f"{namespace}{pattern.name}")
        elif not getattr(view, "allowed_roles", None):
            undeclared.append(f"{namespace}{pattern.name}")
    assert undeclared == []


@pytest.mark.parametrize(
    "persona,home",
    [
        ("agent", "/desk/queue/"),
        ("tech", "/desk/escalations/"),
        ("ops", "/ops/incidents/"),
        ("alice", "/my/tickets/"),
    ],
)
def test_each_role_lands_on_its_home_after_login(client, persona, home, request):
    user = request.getfixturevalue(persona)
    username = user.user.username if hasattr(user, "user") else user.username
    response = client.post(reverse("login"), {"username": username, "password": f"pw-{username}"})
    assert response.status_code == 302
    assert client.get(response["Location"])["Location"] == home


@pytest.mark.parametrize("url_name", ["tickets:queue", "tickets:escalations", "tickets:lookup"])
def test_customer_cannot_reach_staff_pages(client, alice, url_name):
    client.force_login(alice.user)
    assert client.get(reverse(url_name)).status_code == 403


def test_outsider_without_role_cannot_reach_staff_or_customer_pages(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("tickets:queue")).status_code == 403
    assert client.get(reverse("tickets:my_tickets")).status_code == 403


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("tickets:queue"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_customer_cannot_read_another_customers_ticket(client, alice, bob):
    bobs = factories.open_ticket(customer=bob, subject="Bobs private matter")
    client.force_login(alice.user)
    response = client.get(reverse("tickets:my_ticket", args=[bobs.reference]))
    assert response.status_code == 404
    assert b"Bobs private matter" not in response.content
    api = client.get(f"/api/v1/tickets/{bobs.reference}/")
    assert api.status_code == 404
    listing = client.get("/api/v1/tickets/")
    assert bobs.reference not in listing.content.decode()


def test_customer_reads_own_ticket(client, alice):
    mine = factories.open_ticket(customer=alice, subject="My router blinks red")
    client.force_login(alice.user)
    response = client.get(reverse("tickets:my_ticket", args=[mine.reference]))
    assert response.status_code == 200
    assert "My router blinks red" in response.content.decode()


def test_customer_cannot_use_the_staff_api(client, alice):
    client.force_login(alice.user)
    assert client.get("/api/v1/customers/").status_code == 403
    assert client.get("/api/v1/services/").status_code == 403
