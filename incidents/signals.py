"""Events the incidents app announces, for notifications (alerts to agents, e-mail to customers).

All are sent inside the transaction that made the change; receivers write their rows there and
enqueue any push or e-mail with ``transaction.on_commit``.
"""

from django.dispatch import Signal

# An incident was declared. Arguments: incident, actor, linked_count.
incident_declared = Signal()
# An incident's public message, status, ETA or scope changed, or an update was posted; also sent
# when a resolved incident is reopened (update: the "reopened" entry).
# Arguments: incident, actor, update (an IncidentUpdate or None), scope_changed (bool).
incident_updated = Signal()
# Tickets were linked to an incident.
# Arguments: incident, ticket_ids (list[int]), origin ("auto" or "agent"), actor; optionally
# assignees ({ticket id: assignee id or None} for every id, as the sender's transaction has them) when
# the sender holds the tickets in hand, so receivers need not read them again.
incident_linked = Signal()
# An incident was resolved. Arguments: incident, actor.
incident_resolved = Signal()
# After an incident's resolution, linked tickets got the resolution reply but were kept open (marked
# "keep open", or the customer wrote after the link) and flagged for their agent.
# Arguments: incident, ticket_ids (list[int]).
incident_tickets_kept_open = Signal()
# An incident declared by mistake was withdrawn: its links are detached and it is shown to nobody.
# Arguments: incident, actor, reason (str), detached_count (int).
incident_withdrawn = Signal()
# Surge detection proposed an incident (status "proposed"): ops decide whether to declare it.
# Arguments: incident, proposal (a SurgeProposal).
incident_proposed = Signal()


def announce_linked(
    *, incident, ticket_ids: list[int], origin: str, actor, assignees: dict[int, int | None] | None = None
) -> None:
    """Send ``incident_linked`` for these newly linked tickets; nothing when there are none.
    ``assignees``: each ticket's assignee id, when the caller has the tickets in hand (see the signal)."""
    if ticket_ids:
        incident_linked.send(
            sender=type(incident),
            incident=incident,
            ticket_ids=list(ticket_ids),
            origin=origin,
            actor=actor,
            assignees=assignees,
        )


# Someone asked to follow the status of an area by e-mail and must confirm (double opt-in).
# Arguments: subscription (an incidents.models.StatusSubscription). Notifications mails the link.
status_subscription_requested = Signal()
