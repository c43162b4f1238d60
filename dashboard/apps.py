from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    """Read-only views across every app: the operations dashboard, /metrics and the CSV exports.

    It sits above notifications (the top domain app) because it reads from all of them and
    nothing reads from it. Its one table is an hourly rollup derived from tickets (dashboard/rollup.py)."""

    name = "dashboard"
    verbose_name = _("Operations dashboard")

    def ready(self) -> None:
        from dashboard import task_metrics

        task_metrics.connect()  # Celery task outcomes into Redis, for /metrics
