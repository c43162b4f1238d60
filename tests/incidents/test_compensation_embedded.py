"""The credits' INSERT … SELECT is plain SQL that the embedded default (SQLite) runs too."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from incidents.models import CompensationPolicy, Credit
from incidents.services import incident_resolve
from tests import factories
from tests.factories import declare_incident

pytestmark = [pytest.mark.django_db, pytest.mark.core]


def test_resolving_an_outage_writes_capped_credits_on_any_database(catalogue, ops):
    CompensationPolicy.objects.create(
        service=catalogue.email,
        plan="private",
        amount_per_day=Decimal("50"),
        cap=Decimal("120"),
        currency="EUR",
    )
    sub = factories.SubscriptionFactory(service=catalogue.email, area=catalogue.solna)
    incident = declare_incident(
        actor=ops, services=[catalogue.email], started_at=timezone.now() - timedelta(days=2, hours=1)
    ).incident
    incident_resolve(incident=incident, actor=ops)
    credit = Credit.objects.get(incident=incident)
    assert (credit.subscription_id, credit.days, credit.amount, credit.currency) == (
        sub.pk,
        3,
        Decimal("120"),
        "EUR",
    )
