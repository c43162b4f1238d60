"""Monitoring intake: Prometheus Alertmanager's webhook (payload version 4) drives incidents.

The payload (Alertmanager's ``notify/webhook``: ``template.Data`` plus ``version``, ``groupKey``,
``truncatedAlerts``) is one *group* of alerts; Alertmanager sends it again when the group changes
and, unchanged, every ``repeat_interval``. So:

* one incident per group (``MonitoringAlertGroup``: receiver + ``groupKey``). A firing group with no
  active incident declares one (``source=monitoring``); a firing group whose incident is active
  updates it (scope widened, an internal update when the set of firing alerts changed); a group
  that fires again after its incident was resolved declares a new one;
* a resolved group resolves its incident, or moves it to "monitoring" for ops to confirm
  (``settings.MONITORING_RESOLVED_ACTION``);
* a delivery whose content equals the last one's (``digest``) changes nothing: redelivery and
  Alertmanager's repeats are harmless. Deliveries of one group are serialised by a row lock.

Where: labels become scope through ``MonitoringLabelMap`` (admin). An alert whose scope labels
translate to nothing, or that has none, makes the incident *needs scope*: it is declared (ops see
it, flagged, with whatever did map) but matching is held — no ticket is linked, no subscription is
covered, no customer is told — until ops confirm a scope (``incident_confirm_scope``). Declaring
it with its partial scope instead would read the missing dimensions as "everything" (an empty
dimension matches all), linking every ticket in the country for one unknown site.

Alertmanager retries 5xx and gives up on 4xx, so a malformed payload gets a 400 naming the field.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import DomainError
from core.languages import LANGUAGE_CODES
from customers.models import Area, EquipmentModel, Service
from incidents import services
from incidents.models import Incident, MonitoringAlertGroup, MonitoringLabelMap, MonitoringReceiver

RESOLVE = "resolve"
MONITOR = "monitoring"
RESOLVED_ACTIONS = (RESOLVE, MONITOR)

# Alertmanager's conventional ``severity`` label values → our 1–3.
SEVERITY_LABELS = {
    "critical": 3,
    "page": 3,
    "major": 2,
    "error": 2,
    "high": 2,
    "warning": 1,
    "minor": 1,
    "info": 1,
    "low": 1,
    "1": 1,
    "2": 2,
    "3": 3,
}
KIND_LABEL = "incident_kind"  # optional label on the alerting rule; default: outage
ZERO_TIME_PREFIX = "0001-01-01"  # Go's zero time: "no end yet" on firing alerts

# Customer-facing texts when the alert carries none (annotations ``public_message_<lang>``).
DEFAULT_PUBLIC_MESSAGE = gettext_noop(
    "We are looking into a disruption that may affect your service. More information will follow."
)
DEFAULT_RESOLVED_MESSAGE = gettext_noop("The disruption is over and the service works normally again.")


# --- receivers and their tokens ------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def receiver_token_new(*, receiver: MonitoringReceiver) -> str:
    """Give the receiver a new random bearer token (the old one stops working) and return it: the
    only time it is seen in clear."""
    token = secrets.token_urlsafe(32)
    receiver.token_hash = token_hash(token)
    receiver.token_hint = token[:6]
    receiver.save()
    return token


def receiver_create(*, name: str) -> tuple[MonitoringReceiver, str]:
    """A new receiver and its token (shown once)."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the receiver a name."), field="name")
    if MonitoringReceiver.objects.filter(name=name).exists():
        raise DomainError(_("A receiver with this name exists."), field="name")
    receiver = MonitoringReceiver(name=name)
    return receiver, receiver_token_new(receiver=receiver)


def receiver_for_token(token: str) -> MonitoringReceiver | None:
    """The active receiver holding this token. Looked up by hash: no secret is compared in Python."""
    if not token:
        return None
    return MonitoringReceiver.objects.filter(token_hash=token_hash(token), active=True).first()


# --- the payload ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str
    fingerprint: str

    @property
    def firing(self) -> bool:
        return self.status == "firing"


@dataclass(frozen=True)
class Notification:
    """Alertmanager's webhook payload, version 4, checked."""

    receiver: str
    status: str
    alerts: list[Alert]
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    group_key: str
    truncated_alerts: int

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    def firing_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.firing]

    def digest(self) -> str:
        """What a delivery says, so a repeat of it can be recognised (order of alerts aside)."""
        content = {
            "status": self.status,
            "truncated": self.truncated_alerts,
            "common": self.common_annotations,
            "alerts": sorted(
                (
                    a.fingerprint,
                    a.status,
                    a.starts_at.isoformat(),
                    a.ends_at.isoformat() if a.ends_at else "",
                    sorted(a.labels.items()),
                    sorted(a.annotations.items()),
                )
                for a in self.alerts
            ),
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _fail(path: str, message: str):
    raise DomainError(f"{path}: {message}", field=path)


def _string(data: dict, key: str, path: str, *, required: bool = False, max_length: int = 10000) -> str:
    value = data.get(key)
    if value is None:
        if required:
            _fail(path, _("required."))
        return ""
    if not isinstance(value, str):
        _fail(path, _("must be a string."))
    if required and not value:
        _fail(path, _("must not be empty."))
    if len(value) > max_length:
        _fail(path, _("longer than %(max)d characters.") % {"max": max_length})
    return value


def _kv(data: dict, key: str, path: str, *, required: bool = False) -> dict[str, str]:
    value = data.get(key)
    if value is None:
        if required:
            _fail(path, _("required."))
        return {}
    if not isinstance(value, dict):
        _fail(path, _("must be an object of strings."))
    for name, text in value.items():
        if not isinstance(text, str):
            _fail(f"{path}.{name}", _("must be a string."))
    return value


def _status(data: dict, path: str) -> str:
    value = _string(data, "status", path, required=True)
    if value not in ("firing", "resolved"):
        _fail(path, _("must be “firing” or “resolved”."))
    return value


def _time(data: dict, key: str, path: str, *, required: bool) -> datetime | None:
    raw = _string(data, key, path, required=required)
    if not raw or raw.startswith(ZERO_TIME_PREFIX):
        if required:
            _fail(path, _("required."))
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        _fail(path, _("not an RFC 3339 time with a time zone."))
    return value


def _alert(data, path: str) -> Alert:
    if not isinstance(data, dict):
        _fail(path, _("must be an object."))
    labels = _kv(data, "labels", f"{path}.labels", required=True)
    fingerprint = _string(data, "fingerprint", f"{path}.fingerprint", max_length=200)
    if not fingerprint:  # Alertmanager always sends it; other senders may not
        fingerprint = hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16]
    return Alert(
        status=_status(data, f"{path}.status"),
        labels=labels,
        annotations=_kv(data, "annotations", f"{path}.annotations"),
        starts_at=_time(data, "startsAt", f"{path}.startsAt", required=True),
        ends_at=_time(data, "endsAt", f"{path}.endsAt", required=False),
        generator_url=_string(data, "generatorURL", f"{path}.generatorURL", max_length=2000),
        fingerprint=fingerprint,
    )


def parse_notification(data) -> Notification:
    """Check an Alertmanager webhook body; ``DomainError`` naming the first field at fault."""
    if not isinstance(data, dict):
        _fail("body", _("must be a JSON object (Alertmanager's webhook payload)."))
    version = data.get("version")
    if version != "4":
        _fail("version", _("only Alertmanager's webhook payload version “4” is understood."))
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        _fail("alerts", _("must be a non-empty list."))
    truncated = data.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        _fail("truncatedAlerts", _("must be a whole number, 0 or more."))
    return Notification(
        receiver=_string(data, "receiver", "receiver", max_length=200),
        status=_status(data, "status"),
        alerts=[_alert(a, f"alerts[{i}]") for i, a in enumerate(alerts)],
        group_labels=_kv(data, "groupLabels", "groupLabels"),
        common_labels=_kv(data, "commonLabels", "commonLabels"),
        common_annotations=_kv(data, "commonAnnotations", "commonAnnotations"),
        external_url=_string(data, "externalURL", "externalURL", max_length=500),
        group_key=_string(data, "groupKey", "groupKey", required=True),
        truncated_alerts=truncated,
    )


# --- labels → scope ------------------------------------------------------------------------------------


@dataclass
class MappedScope:
    services: list[Service] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    equipment: list[EquipmentModel] = field(default_factory=list)
    # label → values that translated to nothing; "" → alerts (by alertname) with no scope label.
    unmapped: dict[str, list[str]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.unmapped


DIMENSION_MODELS = {"service": Service, "area": Area, "equipment": EquipmentModel}


def map_labels(alerts: Iterable[Alert]) -> MappedScope:
    """The scope the alerts' labels name, through the admins' mapping. At most four queries."""
    alerts = list(alerts)
    table: dict[str, dict[str, MonitoringLabelMap]] = defaultdict(dict)
    for row in MonitoringLabelMap.objects.all():
        table[row.label][row.value] = row
    wanted: dict[str, set[str]] = defaultdict(set)
    per_alert: list[list[tuple[str, str, str, str]]] = []  # (dimension, code, label, value)
    unmapped: dict[str, set[str]] = defaultdict(set)
    for alert in alerts:
        found = []
        for label, value in sorted(alert.labels.items()):
            if label not in table:
                continue  # not a scope label (alertname, instance, job, …)
            row = table[label].get(value) or table[label].get("")
            if row is None:
                unmapped[label].add(value)
                continue
            code = row.code or value
            wanted[row.dimension].add(code)
            found.append((row.dimension, code, label, value))
        per_alert.append(found)
    known = {
        dimension: {obj.code: obj for obj in DIMENSION_MODELS[dimension].objects.filter(code__in=codes)}
        for dimension, codes in wanted.items()
    }
    scope = MappedScope()
    chosen: dict[str, dict[str, object]] = defaultdict(dict)
    for alert, found in zip(alerts, per_alert, strict=True):
        hit = False
        for dimension, code, label, value in found:
            obj = known[dimension].get(code)
            if obj is None:
                unmapped[label].add(value)
            else:
                chosen[dimension][code] = obj
                hit = True
        if not hit and not any(label in table for label in alert.labels):
            unmapped[""].add(alert.labels.get("alertname", alert.fingerprint))
    scope.services = list(chosen["service"].values())
    scope.areas = list(chosen["area"].values())
    scope.equipment = list(chosen["equipment"].values())
    scope.unmapped = {label: sorted(values) for label, values in sorted(unmapped.items())}
    return scope


# --- what an incident says -----------------------------------------------------------------------------


def _title(n: Notification) -> str:
    summary = n.common_annotations.get("summary") or n.common_labels.get("alertname")
    if not summary:
        summary = ", ".join(sorted({a.labels.get("alertname", "") for a in n.alerts} - {""})) or n.group_key
    return summary.strip()[:200] or "Alertmanager"


def _severity(n: Notification) -> int:
    return SEVERITY_LABELS.get(n.common_labels.get("severity", "").lower(), Incident.Severity.MAJOR)


def _kind(n: Notification) -> str:
    kind = n.common_labels.get(KIND_LABEL, "")
    return kind if kind in Incident.Kind.values else Incident.Kind.OUTAGE


def _texts(annotations: dict[str, str], prefix: str, default: str) -> dict[str, str]:
    """Per language: the annotation ``<prefix>_<lang>`` if the rule has one, else our own text."""
    texts = {}
    for lang in LANGUAGE_CODES:
        given = annotations.get(f"{prefix}_{lang}", "").strip()
        if given:
            texts[lang] = given
        else:
            with translation.override(lang):
                texts[lang] = _(default)
    return texts


def _unmapped_text(unmapped: dict[str, list[str]]) -> str:
    parts = []
    for label, values in unmapped.items():
        if label:
            parts.append(f"{label}={', '.join(values)}")
        else:
            parts.append(_("no scope label on: %(alerts)s") % {"alerts": ", ".join(values)})
    return "; ".join(parts)


def _description(n: Notification, mapped: MappedScope) -> str:
    lines = [
        _("From Alertmanager (%(receiver)s), group %(key)s.") % {"receiver": n.receiver, "key": n.group_key}
    ]
    for key in ("summary", "description"):
        if n.common_annotations.get(key):
            lines.append(n.common_annotations[key])
    for alert in n.alerts[:50]:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
        lines.append(f"- [{alert.status}] {labels} {alert.generator_url}".rstrip())
    if n.truncated_alerts:
        lines.append(_("%(n)d more alerts were left out by Alertmanager.") % {"n": n.truncated_alerts})
    if mapped.unmapped:
        lines.append(
            _("Labels that map to nothing: %(labels)s") % {"labels": _unmapped_text(mapped.unmapped)}
        )
    if n.external_url:
        lines.append(n.external_url)
    return "\n".join(lines)[:20000]


def _alerts_snapshot(n: Notification) -> list[dict]:
    return [
        {
            "fingerprint": a.fingerprint,
            "status": a.status,
            "labels": a.labels,
            "startsAt": a.starts_at.isoformat(),
            "endsAt": a.ends_at.isoformat() if a.ends_at else None,
            "generatorURL": a.generator_url,
        }
        for a in n.alerts
    ]


def _external_key(group: MonitoringAlertGroup) -> str:
    # The group key can be long and is only unique per Alertmanager: hash it, prefix the receiver.
    digest = hashlib.sha256(group.group_key.encode()).hexdigest()[:40]
    return f"alertmanager:{group.receiver_id}:{digest}:{group.generation}"


# --- the intake ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeResult:
    incident: Incident | None
    action: str  # declared, updated, resolved, monitoring, unchanged


def resolved_action() -> str:
    action = settings.MONITORING_RESOLVED_ACTION
    if action not in RESOLVED_ACTIONS:  # settings already refuse it; a test may not
        raise DomainError(f"MONITORING_RESOLVED_ACTION must be one of {RESOLVED_ACTIONS}")
    return action


def alertmanager_notify(*, receiver: MonitoringReceiver, notification: Notification) -> IntakeResult:
    """Apply one Alertmanager delivery: declare, update, resolve (or hand to ops), or nothing.

    One transaction. Deliveries of the same group queue on the group's row lock, and a delivery
    equal to the last one changes nothing, so a redelivery or a concurrent duplicate is harmless.
    Incidents change only through ``incidents.services`` (actor: none, source: monitoring).
    """
    # Outside the transaction: a receiver-wide row lock would queue every group behind the slowest.
    MonitoringReceiver.objects.filter(pk=receiver.pk).update(last_used_at=timezone.now())
    return _apply(receiver, notification)


@transaction.atomic
def _apply(receiver: MonitoringReceiver, notification: Notification) -> IntakeResult:
    now = timezone.now()
    group, _created = MonitoringAlertGroup.objects.get_or_create(
        receiver=receiver, group_key=notification.group_key
    )
    group = MonitoringAlertGroup.objects.select_for_update().get(pk=group.pk)
    digest = notification.digest()
    if group.digest == digest:
        return IntakeResult(group.incident, "unchanged")
    incident = group.incident
    previous_firing = {a["fingerprint"] for a in group.alerts if a.get("status") == "firing"}
    if notification.firing:
        if incident is None or not incident.is_active:
            incident, action, mapped = _declare(group, notification), "declared", None
        else:
            mapped = _update(incident, notification, previous_firing=previous_firing)
            action = "updated"
    elif incident is not None and incident.is_active:
        action = _resolve(incident, notification)
        mapped = None
    else:
        action, mapped = "unchanged", None  # resolved, and nothing of ours is open for it
    group.digest = digest
    group.status = notification.status
    group.alerts = _alerts_snapshot(notification)
    group.external_url = notification.external_url
    group.truncated_alerts = notification.truncated_alerts
    group.received_at = now
    if mapped is not None:
        group.unmapped = mapped.unmapped
    group.save()
    return IntakeResult(incident, action)


def _declare(group: MonitoringAlertGroup, n: Notification) -> Incident:
    firing = n.firing_alerts()
    mapped = map_labels(firing)
    group.generation += 1
    group.unmapped = mapped.unmapped
    started = min(a.starts_at for a in firing)
    result = services.incident_declare(
        title=_title(n),
        kind=_kind(n),
        severity=_severity(n),
        services=mapped.services,
        areas=mapped.areas,
        equipment=mapped.equipment,
        public_message=_texts(n.common_annotations, "public_message", DEFAULT_PUBLIC_MESSAGE),
        started_at=min(started, timezone.now()),  # a clock ahead of ours is not a future incident
        description=_description(n, mapped),
        source=Incident.Source.MONITORING,
        external_key=_external_key(group),
        needs_scope=not mapped.complete,
        actor=None,
    )
    group.incident = result.incident
    return result.incident


def _update(incident: Incident, n: Notification, *, previous_firing: set[str]) -> MappedScope:
    """The group changed while its incident is active: widen the scope to what the alerts now
    name (never narrow what ops set), note new or gone alerts internally, re-open investigation."""
    firing = n.firing_alerts()
    mapped = map_labels(firing)
    if not incident.needs_scope:
        _widen(incident, mapped)
    now_firing = {a.fingerprint for a in firing}
    status = Incident.Status.INVESTIGATING if incident.status == Incident.Status.MONITORING else None
    if now_firing != previous_firing or status:
        names = sorted({a.labels.get("alertname", a.fingerprint) for a in firing})
        message = _("Monitoring: %(n)d alerts firing (%(names)s).") % {
            "n": len(firing),
            "names": ", ".join(names)[:500],
        }
        if mapped.unmapped:
            message += " " + _("Labels that map to nothing: %(labels)s") % {
                "labels": _unmapped_text(mapped.unmapped)
            }
        services.incident_post_update(
            incident=incident, actor=None, message=message, public=False, status=status
        )
    return mapped


def _widen(incident: Incident, mapped: MappedScope) -> None:
    """Add newly named values to the dimensions the incident already restricts. A dimension left
    empty means "all" already; filling it would narrow the incident, so it stays empty."""
    changes = {}
    for name, new in (
        ("services", mapped.services),
        ("areas", mapped.areas),
        ("equipment", mapped.equipment),
    ):
        current = list(getattr(incident, name).all())
        if current and {o.pk for o in new} - {o.pk for o in current}:
            changes[name] = current + [o for o in new if o.pk not in {c.pk for c in current}]
    if changes:
        services.incident_change_scope(incident=incident, actor=None, **changes)


def _resolve(incident: Incident, n: Notification) -> str:
    if resolved_action() == RESOLVE:
        message = _texts(n.common_annotations, "resolved_message", DEFAULT_RESOLVED_MESSAGE)
        services.incident_resolve(incident=incident, actor=None, message=message)
        return "resolved"
    if incident.status != Incident.Status.MONITORING:
        services.incident_post_update(
            incident=incident,
            actor=None,
            public=False,
            status=Incident.Status.MONITORING,
            message=_(
                "Monitoring reports every alert of this group resolved. Check, then resolve the incident."
            ),
        )
    return "monitoring"


# --- ops give a held incident its scope ----------------------------------------------------------------


@transaction.atomic
def incident_confirm_scope(
    *,
    incident: Incident,
    actor,
    services_: Iterable[Service] = (),
    areas: Iterable[Area] = (),
    equipment: Iterable[EquipmentModel] = (),
    affects_everyone: bool = False,
) -> services.ScopeChangeResult:
    """Give an incident that needs a scope its scope; matching starts (set-based, as on declaration).

    An empty scope covers every customer, so it needs ``affects_everyone``. Refused for an incident
    whose scope is not held or that is resolved. Sends what ``incident_change_scope`` sends.
    """
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if not locked.needs_scope:
        raise DomainError(_("This incident's scope is already confirmed."), field="needs_scope")
    if not locked.is_active:
        raise DomainError(_("This incident is resolved."), field="status")
    services_, areas, equipment = list(services_), list(areas), list(equipment)
    if not (services_ or areas or equipment) and not affects_everyone:
        raise DomainError(
            _("Name a service, area or equipment model, or confirm that it affects every customer."),
            field="services",
        )
    locked.needs_scope = False
    locked.save(update_fields=["needs_scope"])
    incident.needs_scope = False
    return services.incident_change_scope(
        incident=incident,
        actor=actor,
        services=services_,
        areas=areas,
        equipment=equipment,
        affects_everyone=affects_everyone,
    )
