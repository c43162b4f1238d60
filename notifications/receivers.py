"""Receivers for the incidents app's signals: write alert rows in the sender's transaction.

Connected in ``NotificationsConfig.ready()``. No network I/O here: pushes are enqueued on commit.
"""

from __future__ import annotations

from incidents.models import Incident, IncidentTicketLink
from notifications import services
from notifications.models import Alert


def on_incident_declared(sender, *, incident: Incident, **kwargs) -> None:
    services.alert_for_incident(incident=incident, kind=Alert.Kind.INCIDENT_DECLARED)


def on_incident_updated(sender, *, incident: Incident, update=None, **kwargs) -> None:
    services.alert_for_incident(incident=incident, kind=Alert.Kind.INCIDENT_UPDATED, update=update)


def on_incident_resolved(sender, *, incident: Incident, **kwargs) -> None:
    services.alert_for_incident(incident=incident, kind=Alert.Kind.INCIDENT_RESOLVED)


def on_incident_linked(sender, *, incident: Incident, ticket_ids, origin: str, **kwargs) -> None:
    # A person linking a ticket already knows; only automatic matches need telling the assignee.
    if origin != IncidentTicketLink.Origin.AUTO:
        return
    services.alerts_for_matched_tickets(incident=incident, ticket_ids=ticket_ids)
