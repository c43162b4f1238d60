"""What ops see of monitoring and compensation: the "needs scope" flag, its reasons, the confirm
form; and every new model in Django admin."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from incidents import monitoring
from incidents.models import Incident, IncidentTicketLink, MonitoringAlertGroup, MonitoringLabelMap
from tests.incidents.alertmanager import alert, payload

pytestmark = [pytest.mark.postgres]


def deliver(body: dict) -> dict:
    _receiver, token = monitoring.receiver_create(name=f"am-{MonitoringAlertGroup.objects.count()}")
    response = APIClient().post(
        "/api/v1/hooks/alertmanager/",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
def test_ops_see_an_incident_that_needs_scope_with_the_labels_at_fault(client, catalogue, ops):
    MonitoringLabelMap.objects.create(label="site", value="sthlm-dc1", dimension="area", code="se-ab")
    incident_id = deliver(payload(alert(site="kiruna-dc9")))["incident"]
    client.force_login(ops)
    listing = client.get("/ops/incidents/").content.decode()
    assert "needs scope" in listing
    page = client.get(f"/ops/incidents/{incident_id}/").content.decode()
    assert "Needs scope" in page and "site=kiruna-dc9" in page
    assert f"/ops/incidents/{incident_id}/scope/confirm/" in page
    assert "not set yet (needs scope)" in page  # not "everything"


@pytest.mark.django_db
def test_ops_confirm_the_scope_from_the_page_and_matching_starts(client, catalogue, ticket_in, ops, agent):
    ticket = ticket_in(service=catalogue.email, area=catalogue.solna)
    incident_id = deliver(payload(alert()))["incident"]
    url = f"/ops/incidents/{incident_id}/scope/confirm/"
    client.force_login(agent)
    assert client.post(url, {"services": "email"}).status_code == 403
    client.force_login(ops)
    wrong = client.post(url, {"services": "email, nosuch"}, follow=True)
    assert "Unknown codes: nosuch" in wrong.content.decode()
    assert Incident.objects.get(pk=incident_id).needs_scope
    done = client.post(url, {"services": "email", "areas": "se-ab"}, follow=True)
    assert "1 open ticket linked" in done.content.decode()
    assert IncidentTicketLink.objects.filter(incident_id=incident_id, ticket=ticket).exists()
    assert "Needs scope" not in done.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_group_at_the_same_moment_declare_one_incident(catalogue):
    """Alertmanager in HA pairs can deliver the same notification twice at once."""
    receiver, _token = monitoring.receiver_create(name="am-ha")
    notification = monitoring.parse_notification(payload(alert()))
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(5)
            results.append(
                monitoring.alertmanager_notify(receiver=receiver, notification=notification).action
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(results) == ["declared", "unchanged"]
    assert Incident.objects.count() == 1 and MonitoringAlertGroup.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model",
    ["monitoringreceiver", "monitoringlabelmap", "monitoringalertgroup", "compensationpolicy", "credit"],
)
def test_admin_lists_the_new_models(client, admin_user, model):
    client.force_login(admin_user)
    assert client.get(f"/admin/incidents/{model}/").status_code == 200


@pytest.mark.django_db
def test_admin_refuses_a_label_mapping_to_an_unknown_code(client, admin_user, catalogue):
    client.force_login(admin_user)
    response = client.post(
        "/admin/incidents/monitoringlabelmap/add/",
        {"label": "site", "value": "x", "dimension": "area", "code": "nosuch"},
    )
    assert response.status_code == 200 and "No area has this code." in response.content.decode()
    assert not MonitoringLabelMap.objects.exists()
