from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Alerts and notifications")

    def ready(self) -> None:
        from customers import signals as customer_signals
        from incidents import signals
        from notifications import receivers
        from tickets import signals as ticket_signals

        # dispatch_uid: connecting twice (e.g. a re-imported module) must not alert twice.
        signals.incident_declared.connect(receivers.on_incident_declared, dispatch_uid="alerts.declared")
        signals.incident_updated.connect(receivers.on_incident_updated, dispatch_uid="alerts.updated")
        signals.incident_resolved.connect(receivers.on_incident_resolved, dispatch_uid="alerts.resolved")
        signals.incident_withdrawn.connect(receivers.on_incident_withdrawn, dispatch_uid="alerts.withdrawn")
        signals.incident_proposed.connect(receivers.on_incident_proposed, dispatch_uid="alerts.proposed")
        signals.incident_linked.connect(receivers.on_incident_linked, dispatch_uid="alerts.linked")
        ticket_signals.ticket_changed.connect(
            receivers.on_ticket_changed, dispatch_uid="outbox.ticket_changed"
        )
        customer_signals.sign_in_link_requested.connect(
            receivers.on_sign_in_link_requested, dispatch_uid="outbox.sign_in_link"
        )
        ticket_signals.ticket_commented.connect(
            receivers.on_ticket_commented, dispatch_uid="outbox.ticket_commented"
        )
        ticket_signals.tickets_replied.connect(
            receivers.on_tickets_replied, dispatch_uid="outbox.tickets_replied"
        )
        signals.incident_tickets_kept_open.connect(
            receivers.on_incident_tickets_kept_open, dispatch_uid="alerts.kept_open"
        )
        ticket_signals.contact_requested.connect(
            receivers.on_contact_requested, dispatch_uid="outbox.contact_requested"
        )
        signals.status_subscription_requested.connect(
            receivers.on_status_subscription_requested, dispatch_uid="outbox.status_subscription"
        )
