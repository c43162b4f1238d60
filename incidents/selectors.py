"""Named reads about incidents: what touches a ticket, a customer, and what an incident explains."""

from __future__ import annotations

import operator
from functools import reduce

from django.db import models

from customers.models import Customer, Service
from customers.phones import phone_candidates
from incidents.matching import covering_q
from incidents.models import INACTIVE_STATUSES, Incident, IncidentTicketLink, IncidentUpdate
from tickets.models import Ticket


def active_incidents_for_ticket(ticket: Ticket) -> list[IncidentTicketLink]:
    """The ticket's attached links to active incidents, with their incidents, most severe first."""
    return list(
        IncidentTicketLink.objects.filter(ticket=ticket, detached_at__isnull=True)
        .exclude(incident__status__in=INACTIVE_STATUSES)
        .select_related("incident")
        .order_by("-incident__severity", "-incident__started_at")
    )


def active_incidents_for_customer(customer: Customer) -> list[Incident]:
    """Active incidents whose scope covers any of the customer's active subscriptions (service, area,
    equipment; keywords are about ticket text, so they do not apply), most severe first."""
    subscriptions = list(customer.subscriptions.filter(active=True).select_related("area"))
    if not subscriptions:
        return []
    covers_any = reduce(operator.or_, (covering_q(s) for s in subscriptions))
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


def recently_withdrawn(*, days: int = 14) -> models.QuerySet[Incident]:
    """For operations' own history only: never shown to customers."""
    from django.utils import timezone

    since = timezone.now() - timezone.timedelta(days=days)
    return Incident.objects.filter(status=Incident.Status.WITHDRAWN, updated_at__gte=since).order_by(
        "-updated_at"
    )


def public_active_incidents(*, service: Service | None = None) -> list[Incident]:
    """Active incidents for the public status page/API (those touching ``service`` if given), each
    with ``public_updates`` (newest first)."""
    from django.db.models import Prefetch

    from incidents.models import IncidentUpdate
    from incidents.status import touches_service_q

    qs = Incident.objects.active()
    if service is not None:
        qs = qs.filter(touches_service_q(service))
    return list(
        qs.filter(needs_scope=False)  # unconfirmed monitoring alerts are not told to the public
        .prefetch_related(
            Prefetch(
                "updates",
                queryset=IncidentUpdate.objects.filter(public=True).order_by("-created_at", "-id"),
                to_attr="public_updates",
            )
        )
        .order_by("-severity", "-started_at")
    )


def find_customer(*, phone: str = "", customer: str = "", email: str = "") -> Customer | None:
    """The caller's customer by phone number, customer number or e-mail (first given wins)."""
    from customers.models import CustomerPhone

    if phone:
        candidates = phone_candidates(phone)
        found = (
            CustomerPhone.objects.filter(number__in=candidates)
            .select_related("customer")
            .order_by("pk")
            .first()
            if candidates
            else None
        )
        return found.customer if found else None
    if customer:
        return Customer.objects.filter(number=customer.strip()).first()
    if email:
        return Customer.objects.filter(email__iexact=email.strip()).order_by("number").first()
    return None


def caller_overview(customer: Customer) -> dict:
    """What an agent (or an IVR) needs about a caller: subscriptions, open tickets, and the active
    incidents that affect them — by covering a subscription or by being linked to an open ticket —
    with the agent script, workaround and ETA. A fixed number of queries."""
    subscriptions = list(
        customer.subscriptions.filter(active=True).select_related("customer", "service", "area", "equipment")
    )
    open_tickets = list(
        Ticket.objects.open()
        .filter(customer=customer)
        .select_related("customer", "service", "area")
        .order_by("-created_at")
    )
    links = list(
        IncidentTicketLink.objects.filter(ticket__in=open_tickets, detached_at__isnull=True)
        .exclude(incident__status__in=INACTIVE_STATUSES)
        .select_related("incident")
    )
    incidents = {i.pk: i for i in active_incidents_for_customer(customer)}
    for link in links:
        incidents.setdefault(link.incident_id, link.incident)
    tickets_by_pk = {t.pk: t for t in open_tickets}
    for incident in incidents.values():
        incident.linked_tickets = [
            tickets_by_pk[link.ticket_id].reference for link in links if link.incident_id == incident.pk
        ]
    return {
        "customer": {
            "number": customer.number,
            "name": customer.name,
            "email": customer.email,
            "language": customer.language,
            "phones": [p.number for p in customer.phones.all()],
        },
        "subscriptions": subscriptions,
        "open_tickets": open_tickets,
        "incidents": sorted(incidents.values(), key=lambda i: (-i.severity, i.started_at)),
    }


def ticket_incident_history(ticket: Ticket) -> list[IncidentTicketLink]:
    """Every link of the ticket, attached or detached, oldest first: automatic links write no
    timeline entry (one row per link is enough at 100,000 links), so the link rows are the history."""
    return list(
        IncidentTicketLink.objects.filter(ticket=ticket)
        .select_related("incident", "linked_by", "detached_by")
        .order_by("created_at")
    )


def public_incidents_of(ticket: Ticket) -> list[Incident]:
    """The incidents attached to a ticket, with their public updates newest first, for its customer."""
    return list(
        Incident.objects.filter(links__ticket=ticket, links__detached_at__isnull=True)
        .exclude(status=Incident.Status.WITHDRAWN)  # declared by mistake: never shown to a customer
        .prefetch_related(
            models.Prefetch(
                "updates", queryset=IncidentUpdate.objects.filter(public=True).order_by("-created_at")
            )
        )
        .order_by("-started_at")
    )


# --- the declare form's pickers ------------------------------------------------------------------

PICKER_LIMIT = 15


def area_cards(areas) -> list:
    """Areas as a picker shows them: each with ``trail`` (its ancestors' names, root first) and
    ``below`` (how many areas its subtree holds besides itself) — a region visibly covers its
    subtree. Two queries whatever the number of areas."""
    from django.db.models import Count, Q

    from customers.models import Area

    areas = list(areas)
    if not areas:
        return []
    # One pass over the area table: per picked area, how many lie in its subtree (itself included).
    subtree = Area.objects.aggregate(
        **{f"a{a.pk}": Count("pk", filter=Q(path__startswith=a.path)) for a in areas}
    )
    ancestor_codes = {code for a in areas for code in a.path.strip("/").split("/")[:-1]}
    names = dict(Area.objects.filter(code__in=ancestor_codes).values_list("code", "name"))
    for area in areas:
        area.below = max(0, (subtree.get(f"a{area.pk}") or 1) - 1)
        area.trail = [names.get(code, code) for code in area.path.strip("/").split("/")[:-1]]
    return areas


def search_areas(q: str, *, limit: int = PICKER_LIMIT) -> list:
    """Areas whose name or code contains ``q`` — a place name or a postcode, typed with or without
    its space ("111 22" and "11122" both find the postcode) — broadest first."""
    from django.db.models import Q

    from customers.models import Area

    q = q.strip()
    if not q:
        return []
    compact = q.replace(" ", "")
    match = Q(name__icontains=q) | Q(code__icontains=compact)
    return area_cards(Area.objects.filter(match).order_by("depth", "path")[:limit])


def search_equipment(q: str, *, limit: int = PICKER_LIMIT) -> list:
    """Equipment models by vendor, model or code."""
    from django.db.models import Q

    from customers.models import EquipmentModel

    q = q.strip()
    if not q:
        return []
    match = Q(vendor__icontains=q) | Q(model__icontains=q) | Q(code__icontains=q)
    return list(EquipmentModel.objects.filter(match).order_by("vendor", "model")[:limit])
