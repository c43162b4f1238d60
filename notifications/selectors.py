"""Named reads for alerts and e-mail: the banner's active incidents, an incident's reach among staff
and how many of its affected customers were told."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q

from core.roles import STAFF_ROLES
from customers.models import Area
from incidents.models import Incident
from notifications.models import AlertReceipt, Notification


def banner_incidents() -> list[Incident]:
    """Active incidents for the staff banner, worst first; held ones ("needs scope": monitoring
    could not say where, so they link no ticket and tell no customer) last, to be flagged as such
    rather than shown as an outage agents can point customers to. Two queries, however many."""
    return list(
        Incident.objects.active()
        .order_by("needs_scope", "-severity", "-started_at")
        .only("pk", "title", "kind", "severity", "status", "eta", "started_at", "needs_scope")
        .prefetch_related(Prefetch("areas", queryset=Area.objects.only("pk", "name").order_by("name")))
    )


@dataclass(frozen=True)
class Acknowledgement:
    name: str
    at: object


@dataclass(frozen=True)
class Reach:
    delivered: int
    seen: int
    staff: int
    acknowledged: list[Acknowledgement]


def incident_reach(incident: Incident) -> Reach:
    """How many staff members' browsers got any of the incident's alerts, and who acknowledged.

    Three queries whatever the number of receipts.
    """
    receipts = AlertReceipt.objects.filter(alert__incident=incident)
    counts = receipts.aggregate(
        delivered=Count("user", distinct=True, filter=Q(delivered_at__isnull=False)),
        seen=Count("user", distinct=True, filter=Q(seen_at__isnull=False)),
    )
    acknowledged: dict[int, Acknowledgement] = {}
    for r in (
        receipts.filter(acknowledged_at__isnull=False)
        .select_related("user")
        .only("acknowledged_at", "user__username", "user__first_name", "user__last_name")
        .order_by("acknowledged_at")
    ):
        # First acknowledgement per person (an update alert acknowledged later says nothing new).
        acknowledged.setdefault(
            r.user_id, Acknowledgement(name=r.user.get_full_name() or r.user.username, at=r.acknowledged_at)
        )
    staff = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=STAFF_ROLES)
        .values("pk")
        .distinct()
        .count()
    )
    return Reach(**counts, staff=staff, acknowledged=list(acknowledged.values()))


@dataclass(frozen=True)
class CustomersTold:
    """Of the affected customers we e-mail (with an address, not opted out): told, waiting, failed."""

    told: int
    total: int
    pending: int
    failed: int
    skipped: int


def incident_customers_told(incident: Incident) -> CustomersTold:
    """Counts of the incident's first notice by state. One query (index ``notification_incident_idx``)."""
    kind = Notification.Kind.INCIDENT_AFFECTS_YOU
    state = Notification.State
    counts = Notification.objects.filter(incident=incident, kind=kind).aggregate(
        total=Count("id"),
        told=Count("id", filter=Q(state=state.SENT)),
        pending=Count("id", filter=Q(state=state.PENDING)),
        failed=Count("id", filter=Q(state=state.FAILED)),
        skipped=Count("id", filter=Q(state=state.SKIPPED)),
    )
    return CustomersTold(**counts)
