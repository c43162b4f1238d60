"""/metrics: Prometheus exposition behind a token, gauges read from the database and the broker at
scrape time in a fixed number of queries."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from notifications.models import Notification
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.core]
TOKEN = "s3cret-scrape-token"
SCRAPE_QUERIES = 5  # tickets, incidents, alerts, receipts, outbox; the broker is not SQL


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.REDIS_URL = ""  # these tests read the database; the broker test below sets its own
    return TOKEN


def scrape(client, token=TOKEN):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")


def samples(response) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_without_a_token_the_scraper_gets_401_and_a_challenge(client, token):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_token_gets_403(client, token):
    assert scrape(client, "guess").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=TOKEN).status_code == 403  # no "Bearer"


def test_with_no_token_configured_nobody_may_scrape(client, settings):
    settings.METRICS_TOKEN = ""
    assert scrape(client, "").status_code == 403


def test_a_logged_in_admin_without_the_token_is_refused_too(client, admin_user, token):
    client.force_login(admin_user)
    assert client.get("/metrics").status_code == 401


def test_open_tickets_by_queue_and_active_incidents_by_kind(client, token, ops, catalogue, ticket_in):
    ticket_in(service=catalogue.broadband, area=catalogue.solna)
    ticket_in(service=catalogue.broadband, area=catalogue.solna, category="billing")
    factories.declare_incident(actor=ops, services=[catalogue.broadband], kind="outage")
    factories.declare_incident(actor=ops, services=[catalogue.email], kind="maintenance", title="Upgrade")
    got = samples(scrape(client))
    assert got[("supportdesk_open_tickets", (("queue", "first-line"),))] == 1
    assert got[("supportdesk_open_tickets", (("queue", "billing"),))] == 1
    assert got[("supportdesk_open_tickets", (("queue", "second-line"),))] == 0
    assert got[("supportdesk_active_incidents", (("kind", "outage"),))] == 1
    assert got[("supportdesk_active_incidents", (("kind", "maintenance"),))] == 1
    assert got[("supportdesk_alerts", ())] >= 2  # one declaration alert each
    assert (
        got[("supportdesk_alerts_pushed", ())] + got[("supportdesk_alerts_unpushed", ())]
        == got[("supportdesk_alerts", ())]
    )


def test_outbox_backlog_and_failures(client, token, alice):
    for i, state in enumerate(["pending", "pending", "failed", "sent"]):
        Notification.objects.create(
            key=f"k{i}", kind="ticket-confirmation", customer=alice, language="sv",
            to_email="a@example.com", subject="s", body="b", state=state,
        )  # fmt: skip
    got = samples(scrape(client))
    assert got[("supportdesk_outbox_notifications", (("state", "pending"),))] == 2
    assert got[("supportdesk_outbox_notifications", (("state", "failed"),))] == 1
    assert got[("supportdesk_outbox_oldest_pending_seconds", ())] >= 0


def test_request_latencies_are_recorded_by_route(client, token, ops):
    client.force_login(ops)
    client.get("/ops/dashboard/")
    got = samples(scrape(client))
    key = (
        "supportdesk_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "ops/dashboard/"), ("status", "2xx")),
    )
    assert got[key] >= 1


@pytest.mark.parametrize("size", [1, 6])
def test_a_scrape_costs_the_same_queries_whatever_the_data(
    client, token, ops, catalogue, ticket_in, size, django_assert_num_queries
):
    for _ in range(size):
        ticket_in(service=catalogue.broadband, area=catalogue.solna)
        factories.declare_incident(actor=ops, services=[catalogue.broadband])
    with django_assert_num_queries(SCRAPE_QUERIES):
        assert scrape(client).status_code == 200


def test_a_broker_outage_is_reported_not_a_failed_scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = scrape(client)
    assert response.status_code == 200
    assert samples(response)[("supportdesk_celery_broker_up", ())] == 0
