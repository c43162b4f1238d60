"""What incidents add to the tickets app's pages, queues and API, through ``tickets.extensions``.

Registered once from ``IncidentsConfig.ready()``; the tickets app never imports this module.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from core.errors import DomainError
from core.languages import TIME_ZONE_FOR_LANGUAGE
from core.parsing import parse_int
from incidents import selectors, services, sla
from incidents.matching import covering_q
from incidents.models import Incident, IncidentTicketLink, SurgeTicket
from tickets.extensions import BulkAction, ListFilter, Panel, QueueFilter, extensions

ATTACHED_LINKS = "attached_links"


class LinkedIncidentSerializer(serializers.Serializer):
    """An incident a ticket is attached to, as the ticket API shows it."""

    id = serializers.IntegerField(source="incident.id")
    title = serializers.CharField(source="incident.title")
    kind = serializers.CharField(source="incident.kind")
    status = serializers.CharField(source="incident.status")
    score = serializers.FloatField()
    reasons = serializers.JSONField()
    origin = serializers.CharField()


class CustomerLinkedIncidentSerializer(serializers.Serializer):
    """An incident a ticket is attached to, as its customer sees it through the API: what the status
    page shows (title, kind, status, public message, ETA), not how it was matched."""

    id = serializers.IntegerField(source="incident.id")
    title = serializers.CharField(source="incident.title")
    kind = serializers.CharField(source="incident.kind")
    status = serializers.CharField(source="incident.status")
    public_message = serializers.JSONField(source="incident.public_message")
    eta = serializers.DateTimeField(source="incident.eta")


@extend_schema_field(OpenApiTypes.STR)
class SlaPausedByField(serializers.Field):
    """The ticket API's ``sla_paused_by``: "#12 Title" of the incident its SLA clock waits on (the
    earliest linked), or null. Read from the prefetched attached links: no query of its own."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, allow_null=True, **kwargs)

    def to_representation(self, ticket):
        if not ticket.is_open:
            return None
        pausing = [
            link
            for link in getattr(ticket, ATTACHED_LINKS, [])
            if link.incident.is_active and link.incident.kind != Incident.Kind.KNOWN_ISSUE
        ]
        if not pausing:
            return None
        link = min(pausing, key=lambda link: (link.created_at, link.pk))
        return f"#{link.incident_id} {link.incident.title}"


def _flag_explained_by_active_incident(qs: QuerySet) -> QuerySet:
    """Queue rows: ``has_incident`` when an active incident is attached (one EXISTS per row)."""
    attached_active = IncidentTicketLink.objects.filter(
        ticket=OuterRef("pk"), detached_at__isnull=True, incident__in=Incident.objects.active()
    )
    return qs.annotate(has_incident=Exists(attached_active))


def _filter_by_incident(qs: QuerySet, value: str) -> QuerySet:
    try:
        incident_id = parse_int(value, field="incident")
    except DomainError:
        raise DomainError(_("incident must be an incident id."), field="incident") from None
    # An EXISTS, not a join + DISTINCT: rows are not multiplied, and the keyset order (-id) stays
    # an index walk of tickets probing the unique (incident, ticket) index.
    attached = IncidentTicketLink.objects.filter(
        ticket=OuterRef("pk"), incident_id=incident_id, detached_at__isnull=True
    )
    return qs.filter(Exists(attached))


def _queue_by_incident(qs: QuerySet, value: str) -> QuerySet | None:
    """Queue rows attached to incident ``value`` (an EXISTS, so rows are not multiplied)."""
    try:
        incident_id = parse_int(value, field="incident")  # ASCII digits that fit a bigint
    except DomainError:
        return None
    attached = IncidentTicketLink.objects.filter(
        ticket=OuterRef("pk"), incident_id=incident_id, detached_at__isnull=True
    )
    return qs.filter(Exists(attached))


def _active_incident_choices() -> list[tuple[str, str]]:
    return [(str(i.pk), f"#{i.pk} {i.title}") for i in Incident.objects.active().order_by("-pk")[:50]]


def _history_context(request, ticket) -> dict | None:
    links = selectors.ticket_incident_history(ticket)
    return {"incident_links": links} if links else None


def _outage_notice_context(request, customer) -> dict | None:
    """My tickets: the active incidents covering any of the customer's subscriptions, with the ETA on
    the customer's clock and the zone named."""
    incidents = selectors.active_incidents_for_customer(customer)
    if not incidents:
        return None
    zone = TIME_ZONE_FOR_LANGUAGE.get(customer.language, settings.TIME_ZONE)
    return {"incidents": incidents, "zone": zone}


def _known_for_subscription_context(request, subscription) -> dict | None:
    """The contact form: active incidents covering the subscription the customer is writing about."""
    if subscription is None:
        return None
    incidents = list(
        Incident.objects.active().filter(covering_q(subscription)).order_by("-severity", "-started_at")
    )
    if not incidents:
        return None
    zone = TIME_ZONE_FOR_LANGUAGE.get(subscription.customer.language, settings.TIME_ZONE)
    return {"incidents": incidents, "zone": zone}


def _attached_active_incident(ticket) -> Incident | None:
    """The most severe active incident attached to the ticket (the one a reply would talk about)."""
    return (
        Incident.objects.active()
        .filter(links__ticket=ticket, links__detached_at__isnull=True)
        .order_by("-severity", "-started_at")
        .first()
    )


def _attached_active_incidents(tickets) -> dict[int, Incident]:
    """``_attached_active_incident`` for many tickets (a bulk reply), in one query."""
    links = (
        IncidentTicketLink.objects.filter(
            ticket_id__in=[ticket.pk for ticket in tickets],
            detached_at__isnull=True,
            incident__in=Incident.objects.active(),
        )
        .select_related("incident")
        .order_by("ticket_id", "-incident__severity", "-incident__started_at")
    )
    attached: dict[int, Incident] = {}
    for link in links:
        attached.setdefault(link.ticket_id, link.incident)
    return attached


def _eta_text(incident: Incident | None, language: str) -> str:
    if incident is None or incident.eta is None:
        return _("as soon as we can (we do not have a time yet)")
    zone = ZoneInfo(TIME_ZONE_FOR_LANGUAGE.get(language, settings.TIME_ZONE))
    local = incident.eta.astimezone(zone)
    return f"{date_format(local, 'j F H:i')} {local.tzname()}"


def _incident_eta(ticket, language: str) -> str:
    """``{incident_eta}`` in a canned reply: when the fault attached to the ticket is expected fixed,
    on the customer's clock with the zone named (rendered with the customer's language active)."""
    return _eta_text(_attached_active_incident(ticket), language)


def _incident_title(ticket, language: str) -> str:
    incident = _attached_active_incident(ticket)
    return incident.title if incident else ""


def _incident_eta_loader(tickets):
    attached = _attached_active_incidents(tickets)
    return lambda ticket, language: _eta_text(attached.get(ticket.pk), language)


def _incident_title_loader(tickets):
    attached = _attached_active_incidents(tickets)
    return lambda ticket, language: attached[ticket.pk].title if ticket.pk in attached else ""


def _link_choices() -> list[tuple[str, str]]:
    return [(str(i.pk), f"#{i.pk} {i.title}") for i in _active_incidents_for_linking()]


def _bulk_link(*, ticket_ids, target, actor) -> int:
    """The bulk bar's "link to an incident": ``target`` is the incident's id."""
    try:
        incident_id = parse_int(str(target), field="incident")
    except DomainError:
        incident_id = None
    incident = Incident.objects.filter(pk=incident_id).first() if incident_id is not None else None
    if incident is None:
        raise DomainError(_("There is no such incident."), field="incident")
    return len(services.incident_link_tickets(incident=incident, ticket_ids=ticket_ids, actor=actor))


def _cluster_actions_context(request, cluster: dict) -> dict:
    # The active incidents to link a cluster to; one query per cluster row, at most eight rows.
    return {"cluster": cluster, "active_incidents": _active_incidents_for_linking()}


def _active_incidents_for_linking() -> list[Incident]:
    return list(Incident.objects.active().only("pk", "title").order_by("-severity", "-started_at")[:20])


def _surge_context(request, ticket) -> dict | None:
    """The ticket page: open surge proposals whose cell holds this ticket ("possible outage")."""
    from incidents import surge

    proposals = surge.open_proposals_for(ticket)
    if not proposals:
        return None
    counted = set(
        SurgeTicket.objects.filter(ticket=ticket, proposal__in=proposals).values_list(
            "proposal_id", flat=True
        )
    )
    return {"proposals": proposals, "counted": counted, "ticket": ticket}


def register() -> None:
    extensions.macro_placeholders["incident_eta"] = (
        _incident_eta,
        gettext_lazy("when the fault attached to the ticket is expected fixed, on the customer's clock"),
    )
    extensions.macro_placeholders["incident_title"] = (
        _incident_title,
        gettext_lazy("the title of the fault attached to the ticket"),
    )
    extensions.macro_placeholder_loaders["incident_eta"] = _incident_eta_loader
    extensions.macro_placeholder_loaders["incident_title"] = _incident_title_loader
    extensions.bulk_actions["link"] = BulkAction(
        label=gettext_lazy("Link to an incident"),
        field="incident",
        help="For action=link: the id of the active incident to link them to.",
        choices=_link_choices,
        apply=_bulk_link,
    )
    extensions.add_queue_annotation(_flag_explained_by_active_incident)
    extensions.sla_pauses["incident"] = sla.PAUSE
    extensions.add_payload_prefetch(
        Prefetch(
            "incident_links",
            queryset=IncidentTicketLink.objects.filter(detached_at__isnull=True).select_related("incident"),
            to_attr=ATTACHED_LINKS,
        )
    )
    extensions.payload_fields["incidents"] = lambda: LinkedIncidentSerializer(
        source=ATTACHED_LINKS, many=True, read_only=True
    )
    extensions.customer_payload_fields["incidents"] = lambda: CustomerLinkedIncidentSerializer(
        source=ATTACHED_LINKS, many=True, read_only=True
    )
    extensions.payload_fields["sla_paused_by"] = SlaPausedByField
    extensions.list_filters["incident"] = ListFilter(
        apply=_filter_by_incident,
        parameter=OpenApiParameter("incident", int, description="Tickets attached to this incident."),
    )
    extensions.queue_filters["incident"] = QueueFilter(
        label=gettext_lazy("Incident"), choices=_active_incident_choices, apply=_queue_by_incident
    )
    extensions.add_panel(
        "ticket-top", Panel("incidents/panels/ticket_top.html", lambda request, ticket: {"ticket": ticket})
    )
    extensions.add_panel("ticket-top", Panel("incidents/panels/ticket_surge.html", _surge_context))
    extensions.add_panel(
        "ticket-aside",
        Panel(
            "incidents/panels/ticket_history.html",
            _history_context,
        ),
    )
    extensions.add_panel(
        "my-ticket",
        Panel(
            "incidents/panels/my_ticket.html",
            lambda request, ticket: {
                "incidents": selectors.public_incidents_of(ticket),
                "zone": TIME_ZONE_FOR_LANGUAGE.get(ticket.customer.language, settings.TIME_ZONE),
            },
        ),
    )
    extensions.add_panel(
        "my-tickets-top", Panel("incidents/panels/my_tickets_top.html", _outage_notice_context)
    )
    extensions.add_panel(
        "new-ticket-subscription",
        Panel("incidents/panels/new_ticket_known.html", _known_for_subscription_context),
    )
    extensions.add_panel(
        "lookup-top",
        Panel("incidents/panels/lookup_top.html", lambda request, customer: {"customer": customer}),
    )
    extensions.add_panel(
        "cluster-actions",
        Panel("incidents/panels/cluster_actions.html", _cluster_actions_context),
    )
