"""Receivers for the incidents and tickets apps' signals: write alert rows (agents) and outbox rows
(customer e-mail) in the sender's transaction.

Connected in ``NotificationsConfig.ready()``. No network I/O here: pushes and sends start on commit.
"""

from __future__ import annotations

from incidents.models import Incident, IncidentTicketLink
from notifications import outbox, services
from notifications.models import Alert


def on_incident_declared(sender, *, incident: Incident, **kwargs) -> None:
    services.alert_for_incident(incident=incident, kind=Alert.Kind.INCIDENT_DECLARED)
    outbox.outbox_incident_notice(incident=incident)
    outbox.outbox_status_notices(incident=incident, event="declared")


def on_incident_updated(
    sender, *, incident: Incident, update=None, scope_changed: bool = False, **kwargs
) -> None:
    services.alert_for_incident(incident=incident, kind=Alert.Kind.INCIDENT_UPDATED, update=update)
    if update is not None and getattr(update, "replied_tickets", 0):  # copied onto linked tickets
        outbox.outbox_incident_update_replies(incident=incident, update=update)
    if scope_changed:  # newly covered customers get the first notice; the others have it
        outbox.outbox_incident_notice(incident=incident)
        outbox.outbox_status_notices(incident=incident, event="declared")
    outbox.outbox_incident_eta_changed(incident=incident)


def on_incident_resolved(sender, *, incident: Incident, **kwargs) -> None:
    services.alert_for_incident(incident=incident, kind=Alert.Kind.INCIDENT_RESOLVED)
    outbox.outbox_incident_resolved(incident=incident)
    outbox.outbox_status_notices(incident=incident, event="resolved")


def on_incident_withdrawn(sender, *, incident: Incident, reason: str = "", **kwargs) -> None:
    # Agents may be telling customers about it right now: say it was a mistake, and why.
    services.alert_for_incident(incident=incident, kind=Alert.Kind.INCIDENT_WITHDRAWN, reason=reason)


def on_incident_proposed(sender, *, incident: Incident, proposal, **kwargs) -> None:
    # Ops decide; agents hear of it only when it is confirmed (declared), or on the ticket page.
    services.alerts_for_proposal(incident=incident, proposal=proposal)


def on_incident_linked(
    sender, *, incident: Incident, ticket_ids, origin: str, assignees=None, **kwargs
) -> None:
    services.queue_changed_on_commit(services.ALL_QUEUES)  # the rows' incident marks changed
    # A person linking a ticket already knows; only automatic matches need telling the assignee.
    if origin != IncidentTicketLink.Origin.AUTO:
        return
    services.alerts_for_matched_tickets(incident=incident, ticket_ids=ticket_ids, assignees=assignees)


def on_ticket_changed(
    sender, *, ticket, created: bool, notify_customer: bool | None = None, **kwargs
) -> None:
    if created:
        outbox.outbox_ticket_confirmation(ticket=ticket, notify_customer=notify_customer)
        services.queue_changed_on_commit(ticket.queue)


def on_ticket_commented(sender, *, ticket, event, **kwargs) -> None:
    outbox.outbox_ticket_reply(ticket=ticket, event=event)


def on_tickets_replied(sender, *, event_ids, **kwargs) -> None:
    outbox.outbox_ticket_replies(event_ids=event_ids)


def on_incident_tickets_kept_open(sender, *, incident: Incident, ticket_ids, **kwargs) -> None:
    services.alerts_for_kept_open_tickets(incident=incident, ticket_ids=ticket_ids)


def on_sign_in_link_requested(sender, *, link, **kwargs) -> None:
    outbox.outbox_sign_in_link(link=link)


def on_status_subscription_requested(sender, *, subscription, **kwargs) -> None:
    outbox.outbox_status_confirm(subscription=subscription)


def on_contact_requested(sender, *, request, **kwargs) -> None:
    outbox.outbox_contact_confirm(request=request)
