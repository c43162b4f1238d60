"""The dashboard's tables of its own: an hourly rollup of tickets opened, derived from
``tickets_ticket`` and rebuilt from it at will (dashboard/rollup.py), never a source of truth."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class HourlyTicketCount(models.Model):
    """Tickets opened (and of those, auto-linked to an incident) in one hour (UTC-aligned; the Nordic zones' hours start at the same instants)
    for one service and one region (the depth-1 area above the ticket's area).

    ``service_id`` and ``region_id`` are plain integers, 0 meaning "none": the rollup is derived data
    (no foreign keys to keep a deleted service's history from going), and 0 instead of NULL lets the
    unique key be the ``ON CONFLICT`` target on PostgreSQL and SQLite alike. ``region_id`` -1 rows hold
    the sum over all regions per (hour, service): what the dashboard's chart reads."""

    hour = models.DateTimeField()
    service_id = models.IntegerField(default=0)
    region_id = models.IntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    # Of those, the tickets attached to an incident by matching (an auto link not detached).
    auto_linked = models.PositiveIntegerField(default=0)
    # The refresh that last wrote the row: rows of a refreshed range it did not write are stale
    # (their tickets moved or went) and are deleted by the same refresh.
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Also the index the dashboard reads through: a range of hours.
            models.UniqueConstraint(fields=["hour", "service_id", "region_id"], name="rollup_hour_key"),
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} s{self.service_id} r{self.region_id}: {self.opened}"


class RollupState(models.Model):
    """How far the rollup is complete: every hour before ``complete_until`` is in it. The dashboard
    reads those hours from the rollup and counts the rest live, so a stopped beat makes the page
    slower, never wrong."""

    name = models.CharField(max_length=40, unique=True)
    complete_until = models.DateTimeField()
    refreshed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} until {self.complete_until:%Y-%m-%d %H:%M}"


class OpenTicketCount(models.Model):
    """Open tickets right now per region and service (0 meaning none): a snapshot replaced whole by
    each rollup refresh, read by the heat table while the refresh is recent (dashboard/selectors.py)."""

    region_id = models.IntegerField(default=0)
    service_id = models.IntegerField(default=0)
    open = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["region_id", "service_id"], name="open_count_key")]

    def __str__(self) -> str:
        return f"r{self.region_id} s{self.service_id}: {self.open}"
