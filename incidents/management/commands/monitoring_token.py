"""Make a monitoring receiver (or give an existing one a new token) and print its token once.

    manage.py monitoring_token alertmanager-prod

For scripted set-ups (CI, configuration management); admins can do the same in Django admin.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from incidents import monitoring
from incidents.models import MonitoringReceiver


class Command(BaseCommand):
    help = "Create a monitoring receiver, or rotate its token, and print the token (shown only now)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The receiver's name, e.g. alertmanager-prod")

    def handle(self, *args, name: str, **options):
        receiver = MonitoringReceiver.objects.filter(name=name).first()
        try:
            if receiver is None:
                receiver, token = monitoring.receiver_create(name=name)
            else:
                token = monitoring.receiver_token_new(receiver=receiver)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(token)
