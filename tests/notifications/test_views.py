"""The banner, acknowledging an alert and an incident's reach: allowed and refused, and their queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from incidents.services import incident_resolve
from notifications import services
from notifications.models import Alert, AlertReceipt
from tests import factories
from tests.notifications.conftest import declare

pytestmark = pytest.mark.django_db


def declare_in(area_names, *, actor, **fields):
    return declare(
        actor=actor, areas=[factories.AreaFactory(code=n.lower(), name=n) for n in area_names], **fields
    )


# --- the banner ----------------------------------------------------------------------------------


def test_the_banner_shows_each_active_incident_on_one_line(client, agent, ops):
    declare_in(["Solna", "Kista"], actor=ops, eta=timezone.now() + timedelta(hours=1))
    declare(actor=ops, title="Mail is slow", kind="degradation", severity=1)
    incident_resolve(incident=declare(actor=ops, title="Fixed yesterday"), actor=ops)
    client.force_login(agent)

    response = client.get(reverse("notifications:banner"))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<li") == 2
    assert html.index("Fibre outage in Stockholm") < html.index("Mail is slow")  # worst first
    assert "Kista, Solna" in html
    assert "expected fixed" in html
    assert "Fixed yesterday" not in html


def test_the_banner_is_empty_markup_when_all_is_well(client, agent):
    client.force_login(agent)
    assert client.get(reverse("notifications:banner")).content.strip() == b""


def test_the_banner_costs_the_same_queries_for_one_incident_or_many(ops, django_assert_num_queries):
    declare_in(["Solna"], actor=ops)
    with django_assert_num_queries(2):
        render_to_string("partials/_incident_banner.html", {"user": ops})
    for n in range(5):
        declare_in([f"Area{n}", f"Other{n}"], actor=ops, title=f"Incident {n}")
    with django_assert_num_queries(2):
        html = render_to_string("partials/_incident_banner.html", {"user": ops})
    assert html.count('class="banner-item') == 6
    assert 'id="alerts-config"' in html


@pytest.mark.parametrize("persona", ["agent", "tech", "ops"])
def test_staff_may_refresh_the_banner(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("notifications:banner")).status_code == 200


def test_a_customer_may_not_see_the_staff_banner(client, alice):
    client.force_login(alice.user)
    assert client.get(reverse("notifications:banner")).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    assert client.get(reverse("notifications:banner")).status_code == 302


# --- acknowledging -------------------------------------------------------------------------------


def test_an_agent_acknowledges_an_alert(client, agent, ops):
    declare(actor=ops)
    alert = Alert.objects.get()
    client.force_login(agent)

    response = client.post(reverse("notifications:ack", args=[alert.pk]), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "Acknowledged" in response.content.decode()
    receipt = AlertReceipt.objects.get(alert=alert, user=agent)
    assert receipt.acknowledged_at is not None


def test_acknowledging_without_htmx_answers_no_content(client, agent, ops):
    declare(actor=ops)
    client.force_login(agent)
    response = client.post(reverse("notifications:ack", args=[Alert.objects.get().pk]))
    assert response.status_code == 204


def test_acknowledging_needs_a_post_with_a_csrf_token(agent, ops):
    from django.test import Client

    declare(actor=ops)
    url = reverse("notifications:ack", args=[Alert.objects.get().pk])
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(agent)

    assert strict.get(url).status_code == 405
    assert strict.post(url).status_code == 403
    assert not AlertReceipt.objects.exists()


def test_nobody_acknowledges_a_colleagues_ticket_alert(client, agent, tech, ops):
    incident = declare(actor=ops)
    theirs = Alert.objects.create(kind="ticket-matched", incident=incident, recipient=tech)
    client.force_login(agent)
    assert client.post(reverse("notifications:ack", args=[theirs.pk])).status_code == 404


def test_a_customer_may_not_acknowledge(client, alice, ops):
    declare(actor=ops)
    client.force_login(alice.user)
    assert client.post(reverse("notifications:ack", args=[Alert.objects.get().pk])).status_code == 403


# --- reach ---------------------------------------------------------------------------------------


def test_ops_see_how_many_were_reached_and_who_acknowledged(
    client, agent, tech, ops, django_assert_num_queries
):
    incident = declare(actor=ops)
    alert = Alert.objects.get()
    services.receipt_record(alert_id=alert.pk, user=agent, state="acknowledged")
    services.receipt_record(alert_id=alert.pk, user=tech, state="delivered")
    client.force_login(ops)
    url = reverse("notifications:incident_reach", args=[incident.pk])
    client.get(url)  # warm the session and user

    with django_assert_num_queries(7):  # session, user, roles, incident, then the selector's three
        response = client.get(url)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Reached 2 of 3 staff members" in html
    assert "Anna Agent" in html
    assert "Tomas Tech" not in html


@pytest.mark.parametrize("persona", ["agent", "tech", "ops", "admin_user"])
def test_staff_may_read_an_incidents_reach(client, persona, request, ops):
    incident = declare(actor=ops)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("notifications:incident_reach", args=[incident.pk])).status_code == 200


def test_a_customer_may_not_read_an_incidents_reach(client, alice, ops):
    incident = declare(actor=ops)
    client.force_login(alice.user)
    assert client.get(reverse("notifications:incident_reach", args=[incident.pk])).status_code == 403


def test_the_reach_of_an_unknown_incident_is_not_found(client, ops):
    client.force_login(ops)
    assert client.get(reverse("notifications:incident_reach", args=[999])).status_code == 404


def test_a_held_monitoring_incident_is_flagged_in_the_banner_not_shown_as_an_outage(client, agent, ops):
    # Monitoring could not say where: held, it links no ticket and tells no customer.
    declare(actor=ops, title="HighErrorRate", source="monitoring", needs_scope=True, severity=3)
    declare(actor=ops, title="Mail is slow", kind="degradation", severity=1)
    client.force_login(agent)

    html = client.get(reverse("notifications:banner")).content.decode()

    held = html[html.index('data-held="1"') :]
    assert "HighErrorRate" in held
    assert "Unconfirmed: needs scope" in held
    assert "Outage" not in held  # not presented as an outage agents can point customers to
    assert html.index("Mail is slow") < html.index("HighErrorRate")  # confirmed ones first
    assert html.count('class="banner-item sev-') == 1
