"""Named reads about incidents: what touches a ticket, a customer, and what an incident explains."""

from __future__ import annotations

import operator
from functools import reduce

from django.db import models

from customers.models import Customer
from incidents.matching import covering_q
from incidents.models import Incident, IncidentTicketLink
from tickets.models import Ticket


def active_incidents_for_ticket(ticket: Ticket) -> list[IncidentTicketLink]:
    """The ticket's attached links to active incidents, with their incidents, most severe first."""
    return list(
        IncidentTicketLink.objects.filter(ticket=ticket, detached_at__isnull=True)
        .exclude(incident__status=Incident.Status.RESOLVED)
        .select_related("incident")
        .order_by("-incident__severity", "-incident__started_at")
    )


def active_incidents_for_customer(customer: Customer) -> list[Incident]:
    """Active incidents whose scope covers any of the customer's active subscriptions (service, area,
    equipment; keywords are about ticket text, so they do not apply), most severe first."""
    subscriptions = list(customer.subscriptions.filter(active=True).select_related("area"))
    if not subscriptions:
        return []
    covers_any = reduce(
        operator.or_,
        (
            covering_q(service_id=s.service_id, area=s.area, equipment_id=s.equipment_id)
            for s in subscriptions
        ),
    )
    return list(Incident.objects.active().filter(covers_any).order_by("-severity", "-started_at"))


def incident_tickets(
    incident: Incident, *, include_detached: bool = False
) -> models.QuerySet[IncidentTicketLink]:
    """The incident's links with their tickets (and what a list shows of them), newest first."""
    qs = IncidentTicketLink.objects.filter(incident=incident)
    if not include_detached:
        qs = qs.filter(detached_at__isnull=True)
    return qs.select_related(
        "ticket", "ticket__customer", "ticket__service", "ticket__area", "linked_by", "detached_by"
    ).order_by("-created_at", "-id")


def incident_with_scope(incident_id: int) -> Incident:
    """One incident with its scope prefetched (3 extra queries whatever the scope's size)."""
    return Incident.objects.prefetch_related("services", "areas", "equipment").get(pk=incident_id)


def recently_resolved(*, days: int = 3) -> models.QuerySet[Incident]:
    from django.utils import timezone

    since = timezone.now() - timezone.timedelta(days=days)
    return Incident.objects.filter(status=Incident.Status.RESOLVED, resolved_at__gte=since).order_by(
        "-resolved_at"
    )
