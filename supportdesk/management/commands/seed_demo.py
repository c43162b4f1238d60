"""``manage.py seed_demo [--customers N] [--flush]``: a believable Nordic operator to click through.

Idempotent: a second run adds nothing (or tops the generated customers up to N). ``--flush``
empties the desk's tables first. ``--customers 1000000`` loads a million customers with about as
many tickets in bulk (COPY on PostgreSQL); see ``supportdesk/seeding/``.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from supportdesk import seeding


class Command(BaseCommand):
    help = "Load demo data: catalogue, logins per role, customers, tickets and two incidents."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers",
            type=int,
            default=200,
            help="Generated customers (besides the named demo ones), each with subscriptions and "
            "about one ticket. Default 200; 1000000 for a scale test.",
        )
        parser.add_argument("--flush", action="store_true", help="Empty the desk's tables first.")
        parser.add_argument("--seed", type=int, default=20260101, help="Random seed for generated data.")

    def handle(self, *args, customers: int, flush: bool, seed: int, **options) -> None:
        if customers < 0:
            self.stderr.write("--customers must be 0 or more")
            raise SystemExit(2)
        result = seeding.seed_demo(customers=customers, flush=flush, seed=seed, stdout=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {result.seconds:.1f} s."))
        self.stdout.write("")
        self.stdout.write("Demo logins (username / password → role):")
        for login in result.logins:
            self.stdout.write(f"  {login.username:<6} / {login.password:<11} → {login.role}")
