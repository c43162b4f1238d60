"""Receivers of lower apps' signals, connected in ``IncidentsConfig.ready``."""

from __future__ import annotations

from django.utils import timezone

from incidents import matching
from incidents.models import Incident, IncidentTicketLink
from incidents.signals import announce_linked


def link_changed_ticket(sender, *, ticket, created: bool, actor=None, **kwargs) -> None:
    """A ticket was opened or changed: link it to the active incidents that explain it, inside the
    ticket's transaction (so the agent sees the link at once and it commits with the ticket)."""
    result = matching.match_ticket(ticket, created=created)
    # A ticket just opened has its assignee (none) in hand: the alert receiver need not read it
    # again for each incident linked. A changed one is read there, as for any other link.
    assignees = {ticket.pk: ticket.assignee_id} if created else None
    for incident in result.linked:
        announce_linked(
            incident=incident,
            ticket_ids=[ticket.pk],
            origin=IncidentTicketLink.Origin.AUTO,
            actor=actor,
            assignees=assignees,
        )


def scope_edited(sender, *, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    """An incident's services, areas or equipment changed, by whatever route (a service, the admin,
    a shell): bump its ``updated_at``, the version the process-wide scope cache in
    ``incidents.matching`` is keyed on, so the next ticket matched gets reasons from the new scope."""
    if not reverse:  # incident.areas.add(...): the incident is the instance
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        ids = [instance.pk]
    elif action in ("post_add", "post_remove"):  # area.incidents.add(...): pk_set holds incidents
        ids = list(pk_set or ())
    elif action == "pre_clear":  # area.incidents.clear(): which incidents is only known before
        ids = list(instance.incidents.values_list("pk", flat=True))
    else:
        return
    now = timezone.now()
    if not reverse:
        instance.updated_at = now
    if ids:
        Incident.objects.filter(pk__in=ids).update(updated_at=now)
