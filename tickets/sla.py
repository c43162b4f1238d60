"""When a ticket's SLA falls due: by plan (business customers have a contract) and priority."""

from __future__ import annotations

from datetime import datetime, timedelta

from customers.models import Subscription

# Hours to resolution.
SLA_HOURS = {
    Subscription.Plan.BUSINESS: {1: 48, 2: 24, 3: 8, 4: 4},
    Subscription.Plan.PRIVATE: {1: 120, 2: 72, 3: 24, 4: 12},
}


def sla_due(*, opened_at: datetime, priority: int, plan: str | None) -> datetime:
    hours = SLA_HOURS.get(plan or Subscription.Plan.PRIVATE, SLA_HOURS[Subscription.Plan.PRIVATE])[priority]
    return opened_at + timedelta(hours=hours)
