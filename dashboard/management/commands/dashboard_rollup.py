"""Backfill the dashboard's hourly rollup: ``manage.py dashboard_rollup [--since 2026-01-01 | --all]``."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboard.rollup import rollup_refresh


class Command(BaseCommand):
    help = (
        "Recompute the dashboard's hourly ticket rollup from a date (or from the first ticket) up to "
        "the current hour. Idempotent; safe beside the beat task."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--since", help="first day to recompute (YYYY-MM-DD, the desk's time zone)")
        group.add_argument("--all", action="store_true", help="recompute every hour since the first ticket")

    def handle(self, *args, since=None, all=False, **options):
        start = None
        if since:
            try:
                start = timezone.make_aware(datetime.strptime(since, "%Y-%m-%d"))
            except ValueError as exc:
                raise CommandError(f"--since: expected YYYY-MM-DD, got {since!r}") from exc
        elif all:
            start = datetime(1970, 1, 1, tzinfo=timezone.get_current_timezone())
        done = rollup_refresh(since=start)
        self.stdout.write(
            f"rollup recomputed from {done.since:%Y-%m-%d %H:%M} to {done.until:%Y-%m-%d %H:%M} UTC: "
            f"{done.written} rows written, {done.removed} removed"
        )
