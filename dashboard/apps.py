from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    """Read-only views across every app: the operations dashboard, /metrics and the CSV exports.

    It sits above notifications (the top domain app) because it reads from all of them and
    nothing reads from it; it has no models."""

    name = "dashboard"
    verbose_name = _("Operations dashboard")
