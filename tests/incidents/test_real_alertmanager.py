"""A real Prometheus Alertmanager (Debian's ``prometheus-alertmanager``) posts to a running desk.

The alert goes in through Alertmanager's v2 API; Alertmanager groups it and calls our webhook with
its own payload and the receiver's bearer token (``http_config.authorization``), first firing, then
resolved. Marked ``alertmanager``: skipped locally without the binary, an error in CI.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from incidents import monitoring
from incidents.models import Incident, IncidentTicketLink, MonitoringLabelMap
from tests.processes import free_port, stop

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.alertmanager]
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"

CONFIG = """
route:
  receiver: desk
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: desk
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization:
            credentials: {token}
"""


@pytest.fixture
def alertmanager(asgi_server, tmp_path, transactional_db):
    """Alertmanager on a free port, its webhook pointing at the live desk with a fresh token."""
    _receiver, token = monitoring.receiver_create(name="alertmanager-live")
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG.format(url=f"{asgi_server}/api/v1/hooks/alertmanager/", token=token))
    port = free_port()
    proc = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # one instance, no gossip port
            "--log.level=warn",
        ],
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"alertmanager exited with {proc.returncode}")
            time.sleep(0.1)
    else:
        stop(proc, signal.SIGKILL)
        pytest.fail("alertmanager did not listen within 30 s")
    yield f"http://127.0.0.1:{port}"
    stop(proc)


def post_alert(base: str, *, ends_at: datetime | None = None) -> None:
    now = datetime.now(timezone.utc)
    alert = {
        "labels": {"alertname": "MailDown", "service": "email", "site": "sthlm-dc1", "severity": "critical"},
        "annotations": {"summary": "Mail platform does not answer"},
        "startsAt": (now - timedelta(minutes=5)).isoformat(),
    }
    if ends_at is not None:
        alert["endsAt"] = ends_at.isoformat()
    request = urllib.request.Request(
        f"{base}/api/v2/alerts",
        data=json.dumps([alert]).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
        assert response.status == 200


def wait_for(condition, *, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail("Alertmanager's notification did not arrive in time")


def test_a_real_alertmanager_declares_and_resolves_an_incident_on_the_running_desk(
    alertmanager, catalogue, ticket_in
):
    MonitoringLabelMap.objects.create(label="service", value="", dimension="service")
    MonitoringLabelMap.objects.create(label="site", value="sthlm-dc1", dimension="area", code="se-ab")
    ticket = ticket_in(service=catalogue.email, area=catalogue.solna)

    post_alert(alertmanager)
    incident = wait_for(lambda: Incident.objects.filter(source=Incident.Source.MONITORING).first())
    assert incident.title == "Mail platform does not answer" and incident.severity == 3
    assert not incident.needs_scope
    assert [a.code for a in incident.areas.all()] == ["se-ab"]
    assert IncidentTicketLink.objects.filter(incident=incident, ticket=ticket).exists()

    post_alert(alertmanager, ends_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    wait_for(lambda: Incident.objects.get(pk=incident.pk).status == Incident.Status.RESOLVED)
    assert Incident.objects.count() == 1  # Alertmanager's repeats changed nothing
