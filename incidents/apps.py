from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed

        from incidents import extensions, receivers
        from incidents.matching import DIMENSIONS
        from tickets.signals import ticket_changed

        # dispatch_uid: connected once even if ready() runs twice (tests, management commands).
        ticket_changed.connect(receivers.link_changed_ticket, dispatch_uid="incidents.link_changed_ticket")
        extensions.register()
        # Scope edits by any route (admin included) bump the incident's version: see scope_edited.
        for d in DIMENSIONS:
            m2m_changed.connect(
                receivers.scope_edited, sender=d.through, dispatch_uid=f"incidents.scope_edited.{d.field}"
            )
