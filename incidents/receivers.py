"""Receivers of lower apps' signals, connected in ``IncidentsConfig.ready``."""

from __future__ import annotations

from incidents import matching
from incidents.models import IncidentTicketLink
from incidents.signals import announce_linked


def link_changed_ticket(sender, *, ticket, created: bool, actor=None, **kwargs) -> None:
    """A ticket was opened or changed: link it to the active incidents that explain it, inside the
    ticket's transaction (so the agent sees the link at once and it commits with the ticket)."""
    result = matching.match_ticket(ticket, created=created)
    for incident in result.linked:
        announce_linked(
            incident=incident, ticket_ids=[ticket.pk], origin=IncidentTicketLink.Origin.AUTO, actor=actor
        )
