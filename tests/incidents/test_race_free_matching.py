"""On PostgreSQL, tickets opened while incidents are declared are each linked exactly once."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from customers.models import Area, EquipmentModel, Service, Subscription
from incidents import matching
from incidents.models import Incident, IncidentTicketLink
from incidents.signals import incident_linked
from tests import factories
from tickets.models import Ticket
from tickets.services import ticket_open

pytestmark = pytest.mark.postgres


def _advisory_locks_held() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            [matching.LOCK_KEY],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_opening_a_ticket_takes_the_shared_matching_lock_until_commit(catalogue, ticket_in):
    with transaction.atomic():
        ticket_in(service=catalogue.email)
        assert _advisory_locks_held() == {"ShareLock"}
    assert _advisory_locks_held() == set()


@pytest.mark.django_db(transaction=True)
def test_declaring_takes_the_exclusive_matching_lock_until_commit(catalogue, ops):
    with transaction.atomic():
        factories.declare_incident(actor=ops, services=[catalogue.email])
        assert _advisory_locks_held() == {"ExclusiveLock"}
    assert _advisory_locks_held() == set()


@pytest.mark.django_db(transaction=True)
def test_tickets_opened_during_declarations_are_linked_exactly_once(catalogue, ops):
    services = [catalogue.email, catalogue.broadband, catalogue.iptv]
    areas = [catalogue.solna, catalogue.taby, catalogue.hisingen]
    subscriptions = [
        factories.SubscriptionFactory(
            service=services[i % 3], area=areas[(i // 3) % 3], equipment=catalogue.zyxel
        )
        for i in range(18)
    ]
    # Some tickets exist before anything starts, so declarations have work to do from the first moment.
    for sub in subscriptions[:6]:
        factories.open_ticket(customer=sub.customer, subscription=sub)
    scopes = [
        {"services": [catalogue.email]},
        {"areas": [catalogue.stockholm]},
        {"services": [catalogue.broadband], "areas": [catalogue.goteborg]},
        {"equipment": [catalogue.zyxel], "kind": "known-issue"},
        {"services": [catalogue.iptv], "areas": [catalogue.sweden]},
        {"keywords": ["blinking"]},
    ]
    openers, declarers = 4, len(scopes)
    # A timeout, so one thread failing before the start breaks the barrier instead of hanging the rest.
    start = threading.Barrier(openers + declarers, timeout=60)
    errors: list[BaseException] = []
    announced: list[tuple[int, int]] = []  # (incident id, ticket id) per incident_linked ticket
    guard = threading.Lock()

    def record(sender, *, incident, ticket_ids, **kwargs):
        with guard:
            announced.extend((incident.pk, t) for t in ticket_ids)

    incident_linked.connect(record, weak=False, dispatch_uid="test.race.record")

    def open_tickets(n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                sub = Subscription.objects.get(pk=subscriptions[(n * 15 + i) % len(subscriptions)].pk)
                ticket_open(
                    customer=sub.customer,
                    subscription=sub,
                    subject="Modem blinking" if i % 2 else "No service",
                    description="",
                    channel="web",
                )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    def declare(n: int) -> None:
        try:
            scope = dict(scopes[n])
            start.wait()
            factories.declare_incident(
                actor=ops,
                title=f"Incident {n}",
                kind=scope.pop("kind", "outage"),
                services=list(Service.objects.filter(pk__in=[s.pk for s in scope.pop("services", [])])),
                areas=list(Area.objects.filter(pk__in=[a.pk for a in scope.pop("areas", [])])),
                equipment=list(
                    EquipmentModel.objects.filter(pk__in=[e.pk for e in scope.pop("equipment", [])])
                ),
                **scope,
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=open_tickets, args=(n,), name=f"opener-{n}", daemon=True)
        for n in range(openers)
    ] + [
        threading.Thread(target=declare, args=(n,), name=f"declarer-{n}", daemon=True)
        for n in range(declarers)
    ]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        for t in threads:
            t.join(max(deadline - time.monotonic(), 0))
    finally:
        incident_linked.disconnect(dispatch_uid="test.race.record")
    # Every thread finished (none hangs on a lock), and none failed.
    assert [t.name for t in threads if t.is_alive()] == []
    assert not errors, errors
    assert Ticket.objects.count() == 6 + openers * 15
    assert Incident.objects.count() == declarers

    for incident in Incident.objects.all():
        expected = set(matching.Scope.of(incident).open_tickets().values_list("pk", flat=True))
        expected = {
            pk
            for pk in expected
            if matching.keywords_match(
                incident.keywords, *Ticket.objects.values_list("subject", "description").get(pk=pk)
            )
        }
        linked = list(
            IncidentTicketLink.objects.filter(incident=incident).values_list("ticket_id", flat=True)
        )
        assert expected, f"{incident} should cover some tickets"
        assert sorted(linked) == sorted(expected), incident.title  # every match linked, nothing else
        # Exactly once: one row, and one announcement (alerts follow it), whichever side linked it.
        told = [t for i, t in announced if i == incident.pk]
        assert sorted(told) == sorted(expected), incident.title
