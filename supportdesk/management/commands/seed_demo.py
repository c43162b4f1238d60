"""``manage.py seed_demo [--customers N] [--flush]``: a believable Nordic operator to click through.

Idempotent: a second run adds nothing (or tops the generated customers up to N). ``--flush``
empties the desk's tables first. ``--customers 1000000`` loads a million customers with about as
many tickets in bulk (COPY on PostgreSQL); see ``supportdesk/seeding/``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

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
        parser.add_argument(
            "--i-know-this-is-production",
            action="store_true",
            dest="i_know_this_is_production",
            help="Seed even with SUPPORTDESK_PRODUCTION on (demo logins then get no usable password).",
        )

    def handle(
        self, *args, customers: int, flush: bool, seed: int, i_know_this_is_production: bool, **options
    ) -> None:
        if customers < 0:
            self.stderr.write("--customers must be 0 or more")
            raise SystemExit(2)
        # Demo data in production would leave admin/admin-demo as a working superuser.
        if settings.PRODUCTION and not i_know_this_is_production:
            raise CommandError(
                "Refusing to load demo data in production mode (SUPPORTDESK_PRODUCTION). "
                "Pass --i-know-this-is-production to load it anyway, without demo passwords."
            )
        result = seeding.seed_demo(
            customers=customers,
            flush=flush,
            seed=seed,
            stdout=self.stdout.write,
            demo_passwords=not settings.PRODUCTION,
        )
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {result.seconds:.1f} s."))
        self.stdout.write("")
        if settings.PRODUCTION:
            self.stdout.write("Demo users have no usable password: set one with `manage.py changepassword`.")
            return
        self.stdout.write("Demo logins (username / password → role):")
        for login in result.logins:
            self.stdout.write(f"  {login.username:<6} / {login.password:<11} → {login.role}")
