"""An agent with a ticket open sees a newly declared outage without reloading, and acknowledges it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core import roles
from notifications.models import Alert, AlertReceipt
from tests import factories
from tests.browser.conftest import session_cookie
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

ARTIFACTS = ROOT / "artifacts"

SCRIPT = {
    "en": "Yes, we know: fibre is down in Solna since 14:05 because of a cut cable. It is on our side, "
    "so nothing at home needs restarting. Technicians expect it back within the hour.",
    "sv": "Ja, vi känner till det: fibern i Solna ligger nere sedan 14:05 efter ett kabelbrott. Felet "
    "ligger hos oss, så inget hemma behöver startas om. Teknikerna räknar med att det är åtgärdat inom en timme.",
    "fi": "Kyllä, tiedämme: Solnan kuituyhteys on poikki klo 14.05 alkaen kaapelivaurion vuoksi.",
}


def declare_through_api(context, base_url: str, ops, subscription) -> int:
    """POST /api/v1/incidents/ with ops's token, as monitoring or an ops script would; returns the
    incident's id. Anything but 201 (a missing route's 404 included) fails the test."""
    token, _ = Token.objects.get_or_create(user=ops)
    response = context.request.post(
        base_url + reverse("api-incidents"),
        headers={"Authorization": f"Token {token.key}"},
        data={
            "title": "Fibre down in Solna",
            "kind": "outage",
            "severity": 3,
            "services": [subscription.service.code],
            "areas": [subscription.area.code],
            "equipment": [],
            "public_message": {"en": "Fibre is down in Solna. We are sorry; it is being repaired."},
            "agent_script": SCRIPT,
            "eta": (timezone.now() + timedelta(hours=1)).isoformat(),
        },
    )
    assert response.status == 201, f"POST {reverse('api-incidents')}: {response.status} {response.text()}"
    return response.json()["id"]


def test_an_agent_sees_a_declared_outage_live_and_acknowledges_it(
    live_worker, asgi_server, chromium, agent, ops
):
    for name in roles.ALL_ROLES:  # transactional tests flush the role groups a migration made
        Group.objects.get_or_create(name=name)
    agent.groups.add(Group.objects.get(name=roles.AGENT))
    ops.groups.add(Group.objects.get(name=roles.OPS))
    from tickets.models import Ticket

    area = factories.AreaFactory(code="se-solna", name="Solna")
    subscription = factories.SubscriptionFactory(area=area)
    ticket = factories.open_ticket(customer=subscription.customer, subscription=subscription, actor=agent)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent, status="open")

    p, browser = chromium
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    context.add_cookies([session_cookie(agent, asgi_server)])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(asgi_server + reverse("tickets:detail", args=[ticket.reference]))
    assert page.locator("#incident-banner li").count() == 0
    # The socket is up and caught up before ops declare (the page never reloads after this).
    page.wait_for_function("() => localStorage.length > 0", timeout=10_000)

    started = time.monotonic()
    declare_through_api(context, asgi_server, ops, subscription)

    toast = page.locator("#alert-toasts .toast.incident-declared")
    toast.wait_for(state="visible", timeout=10_000)
    banner = page.locator("#incident-banner li", has_text="Fibre down in Solna")
    banner.wait_for(state="visible", timeout=10_000)
    elapsed = time.monotonic() - started
    page.locator("#alert-toasts .toast-tickets li", has_text=ticket.reference).wait_for(timeout=10_000)
    assert "cut cable" in toast.inner_text()  # the agent script, in the page's language
    assert toast.count() == 1  # the matched ticket joined the incident's toast
    assert "Solna" in banner.inner_text()
    # The ticket page's own incidents panel listens for "incidents-changed" and refreshes as well.
    page.locator("#ticket-incidents", has_text="Fibre down in Solna").wait_for(timeout=10_000)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "alerts-toast.png"))

    toast.get_by_role("button", name="Acknowledge").click()
    page.locator("#alert-toasts .ack-done").wait_for(timeout=10_000)
    for alert in Alert.objects.filter(kind__in=["incident-declared", "ticket-matched"]):
        receipt = AlertReceipt.objects.get(alert=alert, user=agent)
        assert receipt.delivered_at is not None
        assert receipt.acknowledged_at is not None, alert.kind
    assert errors == []
    print(f"declared through the API → toast and banner on screen in {elapsed:.2f} s")
    context.close()


def test_an_agent_who_was_away_catches_up_on_the_next_page_once(
    live_worker, asgi_server, chromium, agent, ops
):
    """Declared while no page of hers was open: the next page catches up from her last id and shows
    the alert once, in her page's language (Swedish here), even though the sweep may push it too."""
    for name in roles.ALL_ROLES:
        Group.objects.get_or_create(name=name)
    agent.groups.add(Group.objects.get(name=roles.AGENT))
    subscription = factories.SubscriptionFactory(area=factories.AreaFactory(code="se-solna", name="Solna"))

    p, browser = chromium
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="sv-SE")
    context.add_cookies(
        [session_cookie(agent, asgi_server), {"name": "django_language", "value": "sv", "url": asgi_server}]
    )
    page = context.new_page()
    page.goto(asgi_server + reverse("tickets:queue"))
    page.wait_for_function("() => localStorage.length > 0", timeout=10_000)
    page.close()  # she goes to lunch: no socket

    declare_through_api(context, asgi_server, ops, subscription)
    deadline = time.monotonic() + 10
    while Alert.objects.filter(pushed_at__isnull=True).exists():  # pushed to nobody: only catch-up helps
        assert time.monotonic() < deadline, "the worker never pushed the alert"
        time.sleep(0.05)

    page = context.new_page()
    page.goto(asgi_server + reverse("tickets:queue"))
    toast = page.locator("#alert-toasts .toast.incident-declared")
    toast.wait_for(state="visible", timeout=10_000)
    page.locator("#incident-banner li", has_text="Fibre down in Solna").wait_for(timeout=10_000)
    page.wait_for_timeout(1000)  # room for a duplicate push to (wrongly) add a second toast
    assert page.locator("#alert-toasts .toast").count() == 1
    assert page.locator("html").get_attribute("lang") == "sv"
    assert "Ja, vi känner till det" in toast.inner_text()  # the agent script in the page's language
    assert toast.get_by_role("button").last.inner_text() == "Kvittera"  # the label, translated server-side
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "alerts-toast-sv.png"))
    context.close()
