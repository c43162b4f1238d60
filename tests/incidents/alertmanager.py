"""Alertmanager webhook payloads in its documented format (version 4), for the tests."""

from __future__ import annotations

import hashlib
import json

ZERO_TIME = "0001-01-01T00:00:00Z"


def alert(
    *, status: str = "firing", starts_at: str = "2026-11-29T08:00:00.123456789Z", ends_at=None, **labels
):
    labels = {"alertname": "MailDown", **labels}
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "Mail platform does not answer", "description": "IMAP probe failing"},
        "startsAt": starts_at,
        "endsAt": ends_at or (ZERO_TIME if status == "firing" else "2026-11-29T10:30:00Z"),
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1",
        "fingerprint": hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16],
    }


def payload(
    *alerts, status: str | None = None, group_key: str = '{}:{alertname="MailDown"}', **common
) -> dict:
    alerts = list(alerts) or [alert()]
    if status is None:
        status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    common_labels = {
        k: v for k, v in alerts[0]["labels"].items() if all(a["labels"].get(k) == v for a in alerts)
    }
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "supportdesk",
        "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonLabels": {**common_labels, **common},
        "commonAnnotations": {"summary": "Mail platform does not answer"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": alerts,
    }
