"""Prometheus metrics: request latencies (observed by dashboard.middleware) and the desk's state,
computed from the database and Redis when Prometheus scrapes, in five cheap queries, an LLEN per
queue and one HGETALL (Celery task outcomes, written by the workers: dashboard/task_metrics.py).

Request latencies are per process: run one scrape target per web process, or let the front proxy
measure them. Everything else is read from the shared stores, so any process answers the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from core.replica import replica_status
from dashboard import task_metrics
from incidents.models import Incident
from notifications.models import Alert, AlertReceipt, Notification
from tickets.models import Ticket

log = logging.getLogger(__name__)

# Our own registry: the default one also carries the process collectors of every library.
REGISTRY = CollectorRegistry(auto_describe=False)  # never query at import time

REQUEST_LATENCY = Histogram(
    "supportdesk_http_request_duration_seconds",
    "Server time per HTTP request, by route and status class.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)


class DeskCollector(Collector):
    """Gauges computed at scrape time (no counters to keep in step with the database)."""

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        yield from self._tickets()
        yield from self._incidents()
        yield from self._alerts()
        yield from self._outbox()
        yield from self._celery()
        yield from self._replica()
        g = GaugeMetricFamily("supportdesk_metrics_scrape_seconds", "Time spent computing these metrics.")
        g.add_metric([], time.perf_counter() - started)
        yield g

    def _replica(self) -> Iterator[Metric]:
        """The read replica as this process last measured it (core/replica.py); nothing without one."""
        status = replica_status()
        if status is None:
            return
        up = GaugeMetricFamily(
            "supportdesk_replica_up", "1 when the read replica answered its last lag check."
        )
        up.add_metric([], 1 if status.reachable else 0)
        yield up
        if status.lag is not None:
            lag = GaugeMetricFamily("supportdesk_replica_lag_seconds", "How far the read replica is behind.")
            lag.add_metric([], status.lag)
            yield lag

    def _tickets(self) -> Iterator[Metric]:
        g = GaugeMetricFamily("supportdesk_open_tickets", "Open tickets by queue.", labels=["queue"])
        counts = dict(
            Ticket.objects.open().values("queue").annotate(n=Count("*")).order_by().values_list("queue", "n")
        )
        for queue in Ticket.Queue.values:
            g.add_metric([queue], counts.get(queue, 0))
        yield g

    def _incidents(self) -> Iterator[Metric]:
        g = GaugeMetricFamily("supportdesk_active_incidents", "Active incidents by kind.", labels=["kind"])
        counts = dict(
            Incident.objects.active()
            .values("kind")
            .annotate(n=Count("*"))
            .order_by()
            .values_list("kind", "n")
        )
        for kind in Incident.Kind.values:
            g.add_metric([kind], counts.get(kind, 0))
        yield g

    def _alerts(self) -> Iterator[Metric]:
        a = Alert.objects.aggregate(total=Count("*"), unpushed=Count("pk", filter=Q(pushed_at__isnull=True)))
        r = AlertReceipt.objects.aggregate(
            delivered=Count("pk", filter=Q(delivered_at__isnull=False)),
            acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
        )
        for name, doc, value in (
            ("supportdesk_alerts", "Alerts written.", a["total"]),
            ("supportdesk_alerts_pushed", "Alerts handed to the channel layer.", a["total"] - a["unpushed"]),
            (
                "supportdesk_alerts_unpushed",
                "Alerts waiting to be pushed (the sweep retries them).",
                a["unpushed"],
            ),
            (
                "supportdesk_alert_receipts_delivered",
                "Agent browsers that reported an alert.",
                r["delivered"],
            ),
            (
                "supportdesk_alert_receipts_acknowledged",
                "Alerts acknowledged by an agent.",
                r["acknowledged"],
            ),
        ):
            g = GaugeMetricFamily(name, doc)
            g.add_metric([], value)
            yield g

    def _outbox(self) -> Iterator[Metric]:
        g = GaugeMetricFamily(
            "supportdesk_outbox_notifications", "Customer e-mails by state.", labels=["state"]
        )
        # Pending and failed only: the sent rows are most of the table and nobody alerts on them.
        watched = [Notification.State.PENDING, Notification.State.FAILED]
        rows = (
            Notification.objects.filter(state__in=watched)
            .values("state")
            .annotate(n=Count("*"), oldest=Min("created_at"))
            .order_by()
        )
        by_state = {r["state"]: r for r in rows}
        for state in watched:
            g.add_metric([state], by_state.get(state, {}).get("n", 0))
        yield g
        age = GaugeMetricFamily(
            "supportdesk_outbox_oldest_pending_seconds", "Age of the oldest unsent e-mail."
        )
        oldest = by_state.get(Notification.State.PENDING, {}).get("oldest")
        age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0)
        yield age

    def _celery(self) -> Iterator[Metric]:
        if not settings.REDIS_URL:
            return  # embedded default: eager Celery has no queue
        g = GaugeMetricFamily(
            "supportdesk_celery_queue_length", "Tasks waiting in the broker.", labels=["queue"]
        )
        up = GaugeMetricFamily("supportdesk_celery_broker_up", "1 if the broker answered this scrape.")
        try:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
            for queue in settings.METRICS_CELERY_QUEUES:
                g.add_metric([queue], client.llen(queue))
            outcomes = task_metrics.read(client)
            up.add_metric([], 1)
            yield g
            tasks = CounterMetricFamily(
                "supportdesk_celery_tasks",
                "Celery tasks finished, by task name and outcome (succeeded, failed, retried), all workers.",
                labels=["task", "outcome"],
            )
            for (name, outcome), n in sorted(outcomes.items()):
                tasks.add_metric([name, outcome], n)
            yield tasks
        except Exception:  # a broker outage must not fail the scrape: report it instead
            log.warning("metrics: broker did not answer", exc_info=True)
            up.add_metric([], 0)
        yield up


REGISTRY.register(DeskCollector())


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
