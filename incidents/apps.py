from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from incidents import extensions, receivers
        from tickets.signals import ticket_changed

        # dispatch_uid: connected once even if ready() runs twice (tests, management commands).
        ticket_changed.connect(receivers.link_changed_ticket, dispatch_uid="incidents.link_changed_ticket")
        extensions.register()
