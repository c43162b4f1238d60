from __future__ import annotations

import time

import pytest
from django.utils import timezone

from customers.models import Subscription
from tests import factories
from tickets.models import Ticket
from tickets.tasks import mark_sla_breaches


@pytest.mark.django_db
@pytest.mark.core
def test_business_customers_get_a_shorter_sla_than_private_ones():
    private = factories.open_ticket(
        customer=factories.SubscriptionFactory(plan=Subscription.Plan.PRIVATE).customer
    )
    business = factories.open_ticket(
        customer=factories.SubscriptionFactory(plan=Subscription.Plan.BUSINESS).customer
    )
    assert business.sla_due_at - business.created_at < private.sla_due_at - private.created_at


@pytest.mark.django_db
@pytest.mark.core
def test_overdue_open_tickets_are_flagged_once_and_closed_ones_never():
    overdue = factories.open_ticket()
    done = factories.open_ticket()
    fresh = factories.open_ticket()
    past = timezone.now() - timezone.timedelta(minutes=1)
    Ticket.objects.filter(pk__in=[overdue.pk, done.pk]).update(sla_due_at=past)
    Ticket.objects.filter(pk=done.pk).update(status="closed", resolved_at=past)
    assert mark_sla_breaches() == 1
    assert mark_sla_breaches() == 0  # idempotent
    assert set(Ticket.objects.filter(sla_breached=True)) == {overdue}
    assert not Ticket.objects.get(pk=fresh.pk).sla_breached


@pytest.mark.worker
@pytest.mark.postgres
def test_the_sla_sweep_runs_on_a_live_worker_through_redis(live_worker):
    overdue = factories.open_ticket()
    Ticket.objects.filter(pk=overdue.pk).update(sla_due_at=timezone.now() - timezone.timedelta(minutes=1))
    mark_sla_breaches.delay()
    deadline = time.monotonic() + 20
    while not Ticket.objects.get(pk=overdue.pk).sla_breached and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Ticket.objects.get(pk=overdue.pk).sla_breached
