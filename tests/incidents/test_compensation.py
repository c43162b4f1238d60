"""Compensation: one credit per affected subscription when an outage is resolved, set-based."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Subscription
from incidents import compensation
from incidents.models import CompensationPolicy, Credit, Incident
from incidents.services import incident_resolve
from tests import factories
from tests.factories import declare_incident

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def policies(catalogue):
    private = CompensationPolicy.objects.create(
        service=catalogue.email,
        plan="private",
        min_outage_minutes=60,
        amount_per_day=Decimal("50.00"),
        cap=Decimal("200.00"),
        currency="SEK",
    )
    business = CompensationPolicy.objects.create(
        service=catalogue.email,
        plan="business",
        min_outage_minutes=0,
        amount_per_day=Decimal("300.00"),
        currency="SEK",
    )
    return private, business


def subscription(catalogue, *, service=None, area=None, plan="private", active=True, customer=None):
    extra = {"customer": customer} if customer else {}
    return factories.SubscriptionFactory(
        service=service or catalogue.email, area=area or catalogue.solna, plan=plan, active=active, **extra
    )


def outage(ops, catalogue, *, lasted: timedelta, kind="outage", **fields) -> Incident:
    fields.setdefault("services", [catalogue.email])
    fields.setdefault("areas", [catalogue.stockholm])
    incident = declare_incident(actor=ops, kind=kind, started_at=timezone.now() - lasted, **fields).incident
    return incident_resolve(incident=incident, actor=ops)


def credits_by_subscription(incident) -> dict[int, tuple[int, Decimal]]:
    return {c.subscription_id: (c.days, c.amount) for c in Credit.objects.filter(incident=incident)}


def test_resolving_an_outage_credits_each_affected_subscription_by_started_day(catalogue, policies, ops):
    private = subscription(catalogue)
    business = subscription(catalogue, plan="business", area=catalogue.taby)
    outside = subscription(catalogue, area=catalogue.hisingen)
    inactive = subscription(catalogue, active=False)
    no_policy = subscription(catalogue, service=catalogue.iptv)
    incident = outage(
        ops, catalogue, lasted=timedelta(days=2, hours=3), services=[catalogue.email, catalogue.iptv]
    )
    credits = credits_by_subscription(incident)
    assert credits == {private.pk: (3, Decimal("150.00")), business.pk: (3, Decimal("900.00"))}
    assert not {outside.pk, inactive.pk, no_policy.pk} & set(credits)
    credit = Credit.objects.get(subscription=private)
    assert (credit.customer_id, credit.currency, credit.policy_id) == (
        private.customer_id,
        "SEK",
        policies[0].pk,
    )
    assert credit.outage_minutes == 51 * 60


def test_the_cap_limits_a_long_outage(catalogue, policies, ops):
    private = subscription(catalogue)
    incident = outage(ops, catalogue, lasted=timedelta(days=8, hours=23))
    assert credits_by_subscription(incident) == {private.pk: (9, Decimal("200.00"))}


def test_an_outage_shorter_than_the_minimum_gives_no_credit_on_that_plan(catalogue, policies, ops):
    subscription(catalogue)
    business = subscription(catalogue, plan="business")
    incident = outage(ops, catalogue, lasted=timedelta(minutes=30))
    assert credits_by_subscription(incident) == {business.pk: (1, Decimal("300.00"))}


def test_other_kinds_of_incident_give_no_credit(catalogue, policies, ops):
    subscription(catalogue)
    incident = outage(ops, catalogue, lasted=timedelta(days=2), kind="degradation")
    assert not Credit.objects.filter(incident=incident).exists()


def test_an_incident_that_still_needs_a_scope_credits_nobody(catalogue, policies, ops):
    subscription(catalogue)
    incident = declare_incident(
        actor=ops, started_at=timezone.now() - timedelta(days=1), needs_scope=True
    ).incident  # empty scope: were it not held, every subscriber
    incident_resolve(incident=incident, actor=ops)
    assert Credit.objects.count() == 0


def test_computing_again_is_idempotent_and_takes_a_constant_number_of_queries(catalogue, policies, ops):
    for _ in range(30):
        subscription(catalogue)
    incident = outage(ops, catalogue, lasted=timedelta(days=1, minutes=1))
    before = list(Credit.objects.order_by("id").values_list("id", "subscription_id", "days", "amount"))
    assert len(before) == 30
    with CaptureQueriesContext(connection) as queries:
        compensation.credits_compute(incident)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and len(queries.captured_queries) <= 4  # scope (3) + one INSERT … SELECT
    assert (
        list(Credit.objects.order_by("id").values_list("id", "subscription_id", "days", "amount")) == before
    )


def test_credit_for_sums_a_customers_affected_subscriptions(catalogue, policies, ops):
    first = subscription(catalogue)
    subscription(catalogue, customer=first.customer, area=catalogue.taby)
    other = subscription(catalogue, area=catalogue.hisingen)
    incident = outage(ops, catalogue, lasted=timedelta(hours=5))
    credit = compensation.credit_for(incident=incident, customer=first.customer)
    assert (credit.amount, credit.currency, credit.days, credit.subscriptions) == (
        Decimal("100.00"),
        "SEK",
        1,
        2,
    )
    assert compensation.credit_for(incident=incident, customer=other.customer) is None


def test_resolving_through_the_api_computes_the_credits(catalogue, policies, ops):
    sub = subscription(catalogue)
    incident = declare_incident(
        actor=ops, services=[catalogue.email], started_at=timezone.now() - timedelta(hours=2)
    ).incident
    client = APIClient()
    client.force_authenticate(ops)
    assert client.post(f"/api/v1/incidents/{incident.pk}/resolve/", {}, format="json").status_code == 200
    assert credits_by_subscription(incident) == {sub.pk: (1, Decimal("50.00"))}


# --- shown, listed, exported -----------------------------------------------------------------------------


@pytest.fixture
def resolved_outage(catalogue, policies, ops):
    subscription(catalogue)
    subscription(catalogue, plan="business")
    factories.SubscriptionFactory(
        service=catalogue.email,
        area=catalogue.solna,
        customer=factories.CustomerFactory(name='=HYPERLINK("http://evil")'),
    )
    return outage(ops, catalogue, lasted=timedelta(days=1, hours=1))


def test_the_incident_page_shows_the_count_and_total_of_credits(client, resolved_outage, ops, agent):
    client.force_login(ops)
    page = client.get(f"/ops/incidents/{resolved_outage.pk}/").content.decode()
    assert "3 credits, 800.00 SEK in total" in page
    assert f"/api/v1/incidents/{resolved_outage.pk}/credits.csv" in page
    client.force_login(agent)
    page = client.get(f"/ops/incidents/{resolved_outage.pk}/").content.decode()
    assert "3 credits" in page and "credits.csv" not in page  # the export is for ops


def test_ops_export_the_credits_as_a_streamed_csv(resolved_outage, ops):
    client = APIClient()
    client.force_authenticate(ops)
    response = client.get(f"/api/v1/incidents/{resolved_outage.pk}/credits.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == ",".join(compensation.CSV_HEADER)
    assert len(lines) == 4
    assert sorted(line.split(",")[-2] for line in lines[1:]) == ["100.00", "100.00", "600.00"]
    assert any("'=HYPERLINK" in line for line in lines)  # no formula reaches a spreadsheet


@pytest.mark.parametrize("persona", ["agent", "tech", "alice"])
def test_others_cannot_export_or_list_credits(resolved_outage, persona, request):
    user = request.getfixturevalue(persona)
    client = APIClient()
    client.force_authenticate(getattr(user, "user", user))
    assert client.get(f"/api/v1/incidents/{resolved_outage.pk}/credits.csv").status_code == 403
    assert client.get(f"/api/v1/incidents/{resolved_outage.pk}/credits/").status_code == 403
    assert APIClient().get(f"/api/v1/incidents/{resolved_outage.pk}/credits.csv").status_code in (401, 403)


def test_ops_list_credits_in_a_constant_number_of_queries(resolved_outage, ops, django_assert_num_queries):
    client = APIClient()
    client.force_authenticate(ops)
    url = f"/api/v1/incidents/{resolved_outage.pk}/credits/"
    client.get(url)  # the forced user object keeps its roles from here on
    # The incident, the planner's estimate (no COUNT), the page — whatever the page size.
    with django_assert_num_queries(3):
        data = client.get(url).json()
    assert len(data["results"]) == 3 and data["next"] is None
    assert data["total_estimate"] >= 0
    first = client.get(url, {"page_size": 2}).json()
    rest = client.get(first["next"]).json()
    assert [r["id"] for r in first["results"] + rest["results"]] == [r["id"] for r in data["results"]]
    assert {r["plan"] for r in data["results"]} == {"private", "business"}
    assert {r["currency"] for r in data["results"]} == {"SEK"}
    assert client.get("/api/v1/incidents/999999/credits/").status_code == 404


def test_credits_are_in_the_openapi_schema(db):
    paths = APIClient().get("/api/schema/?format=json").json()["paths"]
    assert "/api/v1/incidents/{id}/credits/" in paths
    assert "/api/v1/incidents/{id}/credits.csv" in paths


def test_a_subscription_plan_is_private_or_business():
    assert set(Subscription.Plan.values) == {"private", "business"}
