"""Incidents API (v1): declare, preview, update, resolve, link and detach tickets; status; look-up.

One class per operation (a path with two methods has one class whose methods each have their own
input and output serializers). Services raise ``DomainError``; ``supportdesk.api`` maps it to HTTP.
Natural keys (``code``) for services, areas and equipment.
"""

from __future__ import annotations

from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core import idempotency
from core.errors import DomainError, NotFound
from core.i18n import clean_texts
from core.languages import LANGUAGE_CODES
from core.localtime import LocalDateTimeField
from core.pagination import keyset, paginate
from core.roles import ADMIN, AGENT, OPS, STAFF_ROLES, TECH, HasRole, has_role
from customers.models import Area, EquipmentModel, Service
from customers.selectors import find_place
from incidents import selectors, services, surge
from incidents import status as public_status
from incidents.models import INACTIVE_STATUSES, Incident, IncidentTicketLink, IncidentUpdate, SurgeProposal
from tickets.models import Ticket

OPS_ROLES = (OPS, ADMIN)
LINKING_ROLES = (AGENT, TECH, OPS, ADMIN)


# --- fields ---------------------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "description": "Taken as English."},
            {
                "type": "object",
                "properties": {lang: {"type": "string"} for lang in LANGUAGE_CODES},
                "additionalProperties": False,
            },
        ]
    }
)
class LocalizedTextField(serializers.Field):
    """A text per language: ``"text"`` (English) or ``{"sv": ..., "fi": ..., "en": ...}``."""

    def to_internal_value(self, data):
        try:
            return clean_texts(data, name=self.field_name)
        except DomainError as exc:
            raise serializers.ValidationError(exc.message) from None

    def to_representation(self, value):
        return value or {}


def _choice(choices, **kwargs) -> serializers.CharField:
    """A choice as a plain string with its values in the description: the schema then needs no
    shared enum named "kind"/"status" (areas and tickets have their own), and bad values still get a
    400 naming the field."""
    values = [str(value) for value, _label in choices]

    def valid(value: str) -> None:
        if value not in values:
            raise serializers.ValidationError(
                _("“%(value)s” is not one of: %(values)s.") % {"value": value, "values": ", ".join(values)}
            )

    return serializers.CharField(validators=[valid], help_text=f"One of: {', '.join(values)}.", **kwargs)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": 3},
            {"type": "string", "enum": ["minor", "major", "critical"]},
        ],
        "description": "minor, major or critical (or 1, 2, 3).",
    }
)
class SeverityField(serializers.Field):
    """``minor`` / ``major`` / ``critical``, or 1–3 (as the API contract says); stored as 1–3."""

    NAMES = {"minor": 1, "major": 2, "critical": 3}

    def to_internal_value(self, data) -> int:
        if isinstance(data, bool):  # True is an int in Python; not a severity
            data = str(data)
        if isinstance(data, str):
            value = data.strip().lower()
            if value in self.NAMES:
                return self.NAMES[value]
            data = int(value) if value.isdigit() else value
        if isinstance(data, int) and data in Incident.Severity.values:
            return data
        raise serializers.ValidationError(_("Severity is minor, major or critical (or 1, 2, 3)."))

    def to_representation(self, value) -> int:
        return int(value)


def _codes(model, **kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="code", queryset=model.objects.all(), many=True, required=False, **kwargs
    )


# --- serializers ----------------------------------------------------------------------------------


class ScopeInputSerializer(serializers.Serializer):
    kind = _choice(Incident.Kind.choices, default=Incident.Kind.OUTAGE)
    services = _codes(Service)
    areas = _codes(Area)
    equipment = _codes(EquipmentModel)
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=50, default=list
    )
    started_at = LocalDateTimeField(required=False)
    affects_everyone = serializers.BooleanField(
        default=False,
        help_text="Required (true) when no service, area, equipment or keyword is given: "
        "the incident then covers every customer.",
    )


class DeclareInputSerializer(ScopeInputSerializer):
    title = serializers.CharField(max_length=200)
    titles = LocalizedTextField(
        required=False, allow_null=True, help_text="The title per language, for customers (sv, fi, en)."
    )
    severity = SeverityField(default=Incident.Severity.MAJOR)
    public_message = LocalizedTextField()
    agent_script = LocalizedTextField(required=False, allow_null=True)
    workaround = LocalizedTextField(required=False, allow_null=True)
    eta = LocalDateTimeField(required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=20000, default="")
    notify_customers = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="E-mail affected customers. Omitted: yes for outages and maintenance, no otherwise.",
    )


class IncidentUpdateOutputSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = IncidentUpdate
        fields = ["id", "public", "message", "status", "author", "created_at"]


class ProposalOutputSerializer(serializers.Serializer):
    """What surge detection saw: the cell, and the numbers that triggered it ("14 in 15 min, usually 1")."""

    level = serializers.CharField()
    service = serializers.CharField(source="service.code")
    area = serializers.CharField(source="area.code", allow_null=True, default=None)
    equipment = serializers.CharField(source="equipment.code", allow_null=True, default=None)
    state = serializers.CharField()
    reports = serializers.IntegerField()
    window_minutes = serializers.IntegerField()
    expected = serializers.FloatField()
    p_value = serializers.FloatField()
    summary = serializers.SerializerMethodField()
    cluster_size = serializers.IntegerField(source="cluster_count", default=None)
    proposed_at = serializers.DateTimeField()
    quiet_until = serializers.DateTimeField(allow_null=True)

    def get_summary(self, proposal) -> str:
        return surge.surge_summary(proposal)


class IncidentOutputSerializer(serializers.ModelSerializer):
    # Plain strings, not enums: see ``_choice``.
    kind = serializers.CharField(read_only=True)
    severity = serializers.IntegerField(read_only=True)
    status = serializers.CharField(read_only=True)
    source = serializers.CharField(read_only=True)
    services = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    areas = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    equipment = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "titles",
            "kind",
            "severity",
            "status",
            "source",
            "needs_scope",
            "started_at",
            "detected_at",
            "eta",
            "resolved_at",
            "description",
            "public_message",
            "agent_script",
            "workaround",
            "services",
            "areas",
            "equipment",
            "keywords",
            "created_at",
            "updated_at",
        ]


class IncidentDetailOutputSerializer(IncidentOutputSerializer):
    updates = IncidentUpdateOutputSerializer(many=True, read_only=True)

    class Meta(IncidentOutputSerializer.Meta):
        fields = [*IncidentOutputSerializer.Meta.fields, "updates"]


class ProposedIncidentOutputSerializer(IncidentOutputSerializer):
    """An incident; a proposed one (``?status=proposed``) carries its ``proposal``."""

    proposal = ProposalOutputSerializer(source="surge", read_only=True, allow_null=True, default=None)

    class Meta(IncidentOutputSerializer.Meta):
        fields = [*IncidentOutputSerializer.Meta.fields, "proposal"]


class DeclareOutputSerializer(IncidentOutputSerializer):
    linked_tickets = serializers.IntegerField(read_only=True)
    affected_subscriptions = serializers.IntegerField(read_only=True)

    class Meta(IncidentOutputSerializer.Meta):
        fields = [*IncidentOutputSerializer.Meta.fields, "linked_tickets", "affected_subscriptions"]


class TicketBriefSerializer(serializers.Serializer):
    reference = serializers.CharField()
    subject = serializers.CharField()
    status = serializers.CharField()
    customer = serializers.CharField(source="customer.number")
    service = serializers.CharField(source="service.code", default=None)
    area = serializers.CharField(source="area.code", default=None)
    created_at = serializers.DateTimeField()


class SubscriptionBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.CharField(source="customer.number")
    service = serializers.CharField(source="service.code")
    area = serializers.CharField(source="area.code")
    equipment = serializers.CharField(source="equipment.code", default=None)
    plan = serializers.CharField()
    address = serializers.CharField()


class PreviewOutputSerializer(serializers.Serializer):
    linked_tickets = serializers.IntegerField(source="ticket_count")
    affected_subscriptions = serializers.IntegerField(source="subscription_count")
    scope_empty = serializers.BooleanField(
        help_text="No dimension given: declaring needs affects_everyone=true."
    )
    tickets = TicketBriefSerializer(many=True)
    subscriptions = SubscriptionBriefSerializer(many=True)


class ScopeChangeInputSerializer(serializers.Serializer):
    """Only the dimensions given change; an empty list clears a dimension (it then matches all)."""

    services = _codes(Service)
    areas = _codes(Area)
    equipment = _codes(EquipmentModel)
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=50
    )
    affects_everyone = serializers.BooleanField(
        default=False,
        help_text="A change that leaves no dimension named covers every customer: it needs true.",
    )


class ScopeChangeOutputSerializer(IncidentOutputSerializer):
    linked_tickets = serializers.IntegerField(read_only=True)
    detached_tickets = serializers.IntegerField(read_only=True)

    class Meta(IncidentOutputSerializer.Meta):
        fields = [*IncidentOutputSerializer.Meta.fields, "linked_tickets", "detached_tickets"]


class UpdateInputSerializer(serializers.Serializer):
    message = LocalizedTextField()
    public = serializers.BooleanField(default=True)
    status = _choice([c for c in Incident.Status.choices if c[0] not in INACTIVE_STATUSES], required=False)
    eta = LocalDateTimeField(required=False)
    reply_to_tickets = serializers.BooleanField(
        default=False,
        help_text="Also post a public update as a public reply on every attached open ticket, "
        "each in its customer's language.",
    )


class PostedUpdateOutputSerializer(IncidentUpdateOutputSerializer):
    replied_tickets = serializers.IntegerField(
        read_only=True, help_text="How many linked open tickets got the update as a reply."
    )

    class Meta(IncidentUpdateOutputSerializer.Meta):
        fields = [*IncidentUpdateOutputSerializer.Meta.fields, "replied_tickets"]


class ResolveInputSerializer(serializers.Serializer):
    message = LocalizedTextField(required=False, allow_null=True)


class WithdrawInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why it was declared by mistake (kept).")


class WithdrawOutputSerializer(IncidentOutputSerializer):
    detached_tickets = serializers.IntegerField(read_only=True)

    class Meta(IncidentOutputSerializer.Meta):
        fields = [*IncidentOutputSerializer.Meta.fields, "detached_tickets"]


class ReopenInputSerializer(serializers.Serializer):
    message = LocalizedTextField(required=False, allow_null=True)


class ReopenOutputSerializer(IncidentOutputSerializer):
    linked_tickets = serializers.IntegerField(read_only=True)

    class Meta(IncidentOutputSerializer.Meta):
        fields = [*IncidentOutputSerializer.Meta.fields, "linked_tickets"]


class LinkOutputSerializer(serializers.ModelSerializer):
    ticket = TicketBriefSerializer(read_only=True)
    linked_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    origin = serializers.CharField(read_only=True)
    detached_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = IncidentTicketLink
        fields = [
            "ticket",
            "score",
            "reasons",
            "origin",
            "linked_by",
            "created_at",
            "detached_at",
            "detached_by",
            "detach_reason",
        ]


class LinkInputSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=30)

    def validate_reference(self, value: str) -> Ticket:
        ticket = Ticket.objects.by_reference(value).select_related("customer", "service", "area").first()
        if ticket is None:
            raise serializers.ValidationError(_("No ticket with this reference."))
        return ticket


class DetachInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PublicUpdateSerializer(serializers.Serializer):
    message = serializers.DictField(child=serializers.CharField())
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class IncidentSummarySerializer(serializers.Serializer):
    """The fields anyone may read about an incident: never the internal description."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    titles = serializers.DictField(child=serializers.CharField(), help_text="Per language (sv, fi, en).")
    kind = serializers.CharField()
    severity = serializers.IntegerField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField()
    eta = serializers.DateTimeField()
    public_message = serializers.DictField(child=serializers.CharField())


class PublicIncidentSerializer(IncidentSummarySerializer):
    """The status page's view: the summary and the public updates (no agent script or workaround)."""

    updates = PublicUpdateSerializer(many=True, source="public_updates")


class StatusAreaSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(source="name_in")
    kind = serializers.CharField()


class StatusOutputSerializer(serializers.Serializer):
    area = StatusAreaSerializer(allow_null=True, help_text="The place asked about; null for everywhere.")
    incidents = PublicIncidentSerializer(many=True)


class LookupIncidentSerializer(IncidentSummarySerializer):
    """What an agent (or an IVR) needs about an incident touching the caller."""

    agent_script = serializers.DictField(child=serializers.CharField())
    workaround = serializers.DictField(child=serializers.CharField())
    linked_tickets = serializers.ListField(child=serializers.CharField())


class LookupOutputSerializer(serializers.Serializer):
    customer = serializers.DictField()
    subscriptions = SubscriptionBriefSerializer(many=True)
    open_tickets = TicketBriefSerializer(many=True)
    incidents = LookupIncidentSerializer(many=True)


# --- helpers ----------------------------------------------------------------------------------------


def _incident(pk: int) -> Incident:
    return get_object_or_404(Incident.objects.prefetch_related("services", "areas", "equipment"), pk=pk)


def _ticket(reference: str) -> Ticket:
    ticket = Ticket.objects.by_reference(reference).select_related("customer", "service", "area").first()
    if ticket is None:
        raise NotFound(_("No ticket with this reference."), field="reference")
    return ticket


def _scope_kwargs(data: dict) -> dict:
    return {
        "kind": data["kind"],
        "services": data.get("services", []),
        "areas": data.get("areas", []),
        "equipment": data.get("equipment", []),
        "keywords": data.get("keywords", []),
        "started_at": data.get("started_at"),
    }


# --- APIs -----------------------------------------------------------------------------------------


class IncidentCollectionApi(APIView):
    """GET: list incidents (staff). POST: declare one (ops)."""

    permission_classes = [HasRole.of(*STAFF_ROLES)]
    # Latest started first. Incidents are few (thousands, not millions): the active/status filters
    # read incident_active_idx or the table, and sort what they find.
    pagination_class = keyset("-started_at", "-id")

    def get_permissions(self):
        roles = OPS_ROLES if self.request.method == "POST" else STAFF_ROLES
        return [HasRole.of(*roles)()]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                str,
                description="active, resolved, or a status; 'proposed' (ops only) lists the incidents "
                "proposed from a surge of tickets, each with its 'proposal' (cell and trigger numbers)",
            )
        ],
        responses=ProposedIncidentOutputSerializer(many=True),
    )
    def get(self, request):
        qs = Incident.objects.prefetch_related("services", "areas", "equipment")
        wanted = request.query_params.get("status")
        if not has_role(request.user, *OPS_ROLES):
            # Proposals are ops' to decide on (agents see one only on a ticket in its cell).
            if wanted == Incident.Status.PROPOSED:
                raise PermissionDenied(_("Only operations may list proposed incidents."))
            qs = qs.exclude(status=Incident.Status.PROPOSED)
        if wanted == Incident.Status.PROPOSED:
            return self._proposed(request, qs)
        if wanted == "active":
            qs = qs.active()
        elif wanted:
            if wanted not in Incident.Status.values:
                raise DomainError(_("Unknown status."), field="status")
            qs = qs.filter(status=wanted)
        return paginate(self, qs, lambda rows: IncidentOutputSerializer(rows, many=True).data)

    def _proposed(self, request, qs):
        qs = qs.filter(status=Incident.Status.PROPOSED).prefetch_related(
            Prefetch(
                "surge",
                queryset=SurgeProposal.objects.select_related("service", "area", "equipment").annotate(
                    cluster_count=Count("cluster")
                ),
            )
        )
        return paginate(self, qs, lambda rows: ProposedIncidentOutputSerializer(rows, many=True).data)

    @extend_schema(
        request=DeclareInputSerializer,
        responses={201: DeclareOutputSerializer},
        parameters=[idempotency.PARAMETER],
    )
    @idempotency.idempotent
    def post(self, request):
        body = DeclareInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = services.incident_declare(
            title=data["title"],
            titles=data.get("titles"),
            severity=data["severity"],
            public_message=data["public_message"],
            agent_script=data.get("agent_script"),
            workaround=data.get("workaround"),
            eta=data.get("eta"),
            description=data["description"],
            notify_customers=data.get("notify_customers"),
            affects_everyone=data["affects_everyone"],
            actor=request.user,
            **_scope_kwargs(data),
        )
        incident = result.incident
        incident.linked_tickets = result.linked_count
        incident.affected_subscriptions = result.affected_subscriptions
        return Response(DeclareOutputSerializer(incident).data, status=status.HTTP_201_CREATED)


class IncidentPreviewApi(APIView):
    """What a declaration with this body would touch; writes nothing."""

    permission_classes = [HasRole.of(*OPS_ROLES)]

    @extend_schema(request=DeclareInputSerializer, responses=PreviewOutputSerializer)
    def post(self, request):
        body = ScopeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        preview = services.incident_preview(**_scope_kwargs(body.validated_data))
        return Response(PreviewOutputSerializer(preview).data)


class IncidentDetailApi(APIView):
    permission_classes = [HasRole.of(*STAFF_ROLES)]

    @extend_schema(responses=IncidentDetailOutputSerializer)
    def get(self, request, pk: int):
        incident = get_object_or_404(
            Incident.objects.prefetch_related(
                "services",
                "areas",
                "equipment",
                Prefetch("updates", queryset=IncidentUpdate.objects.select_related("author")),
            ),
            pk=pk,
        )
        return Response(IncidentDetailOutputSerializer(incident).data)


class IncidentPostUpdateApi(APIView):
    permission_classes = [HasRole.of(*OPS_ROLES)]

    @extend_schema(
        request=UpdateInputSerializer,
        responses={201: PostedUpdateOutputSerializer},
        parameters=[idempotency.PARAMETER],
    )
    @idempotency.idempotent
    def post(self, request, pk: int):
        incident = _incident(pk)
        body = UpdateInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        update = services.incident_post_update(incident=incident, actor=request.user, **body.validated_data)
        return Response(PostedUpdateOutputSerializer(update).data, status=status.HTTP_201_CREATED)


class IncidentResolveApi(APIView):
    permission_classes = [HasRole.of(*OPS_ROLES)]

    @extend_schema(request=ResolveInputSerializer, responses=IncidentOutputSerializer)
    def post(self, request, pk: int):
        incident = _incident(pk)
        body = ResolveInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.incident_resolve(
            incident=incident, actor=request.user, message=body.validated_data.get("message")
        )
        return Response(IncidentOutputSerializer(incident).data)


class IncidentWithdrawApi(APIView):
    """Withdraw an incident declared by mistake: its links are detached (kept as rows), it leaves the
    status page and customers' pages, agents are told live."""

    permission_classes = [HasRole.of(*OPS_ROLES)]

    @extend_schema(request=WithdrawInputSerializer, responses=WithdrawOutputSerializer)
    def post(self, request, pk: int):
        incident = _incident(pk)
        body = WithdrawInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.incident_withdraw(
            incident=incident, actor=request.user, reason=body.validated_data["reason"]
        )
        incident.detached_tickets = result.detached_count
        return Response(WithdrawOutputSerializer(incident).data)


class IncidentReopenApi(APIView):
    """Reopen a resolved incident: active again, re-matched set-based, agents alerted."""

    permission_classes = [HasRole.of(*OPS_ROLES)]

    @extend_schema(request=ReopenInputSerializer, responses=ReopenOutputSerializer)
    def post(self, request, pk: int):
        incident = _incident(pk)
        body = ReopenInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.incident_reopen(
            incident=incident, actor=request.user, message=body.validated_data.get("message")
        )
        incident.linked_tickets = result.linked_count
        return Response(ReopenOutputSerializer(incident).data)


class IncidentScopeApi(APIView):
    """Widen (links more, set-based) or narrow (detaches automatic links that no longer match)."""

    permission_classes = [HasRole.of(*OPS_ROLES)]

    @extend_schema(request=ScopeChangeInputSerializer, responses=ScopeChangeOutputSerializer)
    def patch(self, request, pk: int):
        incident = _incident(pk)
        body = ScopeChangeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = services.incident_change_scope(
            incident=incident,
            actor=request.user,
            services=data.get("services"),
            areas=data.get("areas"),
            equipment=data.get("equipment"),
            keywords=data.get("keywords"),
            affects_everyone=data["affects_everyone"],
        )
        incident = _incident(pk)  # the scope as it is now
        incident.linked_tickets = result.linked_count
        incident.detached_tickets = result.detached_count
        return Response(ScopeChangeOutputSerializer(incident).data)


class IncidentTicketsApi(APIView):
    """GET: the incident's attached tickets (staff; paginated; constant queries). POST: link one by
    reference (agent, tech, ops)."""

    permission_classes = [HasRole.of(*STAFF_ROLES)]
    # Newest tickets first, along the unique (incident, ticket) index: no index of its own (links
    # are inserted 100,000 at a time, see IncidentTicketLink), and a deep page costs what the first does.
    pagination_class = keyset("-ticket_id", estimate_total=True)

    def get_permissions(self):
        roles = LINKING_ROLES if self.request.method == "POST" else STAFF_ROLES
        return [HasRole.of(*roles)()]

    @extend_schema(responses=LinkOutputSerializer(many=True))
    def get(self, request, pk: int):
        incident = get_object_or_404(Incident, pk=pk)
        links = selectors.incident_tickets(incident)
        return paginate(self, links, lambda rows: LinkOutputSerializer(rows, many=True).data)

    @extend_schema(request=LinkInputSerializer, responses={201: LinkOutputSerializer})
    def post(self, request, pk: int):
        incident = _incident(pk)
        body = LinkInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        link = services.incident_link_ticket(
            incident=incident, ticket=body.validated_data["reference"], actor=request.user
        )
        return Response(LinkOutputSerializer(link).data, status=status.HTTP_201_CREATED)


class IncidentTicketDetachApi(APIView):
    permission_classes = [HasRole.of(*LINKING_ROLES)]

    @extend_schema(
        parameters=[OpenApiParameter("reason", str, required=False)],
        request=DetachInputSerializer,
        responses=LinkOutputSerializer,
    )
    def delete(self, request, pk: int, reference: str):
        incident = _incident(pk)
        ticket = _ticket(reference)
        data = request.data if isinstance(request.data, dict) and request.data else request.query_params
        body = DetachInputSerializer(data=data)
        body.is_valid(raise_exception=True)
        link = services.incident_detach_ticket(
            incident=incident, ticket=ticket, actor=request.user, reason=body.validated_data["reason"]
        )
        return Response(LinkOutputSerializer(link).data)


class StatusApi(APIView):
    """Public: the active incidents' public messages and public updates."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("postcode", str, description="Where the asker lives: 11122, 111 22, 00100."),
            OpenApiParameter("area", str, description="An area code (se-ab-0180) instead of a postcode."),
            OpenApiParameter("service", str, description="Only incidents that touch this service (a code)."),
        ],
        responses=StatusOutputSerializer,
    )
    def get(self, request):
        """Without a place: every active incident. With ``postcode`` or ``area``: those touching that
        place (active ones, planned maintenance included), optionally for one ``service``."""
        params = {k: request.query_params.get(k, "").strip() for k in ("postcode", "area", "service")}
        service = None
        if params["service"]:
            service = Service.objects.filter(code=params["service"]).first()
            if service is None:
                raise DomainError(
                    _("Unknown service %(code)s.") % {"code": params["service"]}, field="service"
                )
        if params["postcode"] or params["area"]:
            if params["area"]:
                area = Area.objects.filter(code=params["area"]).first()
            else:
                area = find_place(params["postcode"])
            if area is None:
                field = "area" if params["area"] else "postcode"
                raise NotFound(_("We do not know that place."), field=field)
            report = public_status.area_status(area, service=service, resolved_days=0)
            incidents = report.problems + report.maintenance
        else:
            area = None
            incidents = selectors.public_active_incidents(service=service)
        return Response(StatusOutputSerializer({"area": area, "incidents": incidents}).data)


class LookupApi(APIView):
    """Staff: a caller's customer, subscriptions, open tickets and the active incidents affecting them."""

    permission_classes = [HasRole.of(*STAFF_ROLES)]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "phone",
                str,
                description="Any common form: +46701234567, 070-123 45 67, 46701234567 (caller-ID)",
            ),
            OpenApiParameter("customer", str, description="Customer number"),
            OpenApiParameter("email", str),
        ],
        responses=LookupOutputSerializer,
    )
    def get(self, request):
        params = {k: request.query_params.get(k, "").strip() for k in ("phone", "customer", "email")}
        if not any(params.values()):
            raise DomainError(_("Give phone, customer or email."), field="phone")
        customer = selectors.find_customer(**params)
        if customer is None:
            raise NotFound(_("No customer found."))
        return Response(LookupOutputSerializer(selectors.caller_overview(customer)).data)


# --- proposals from surges of tickets (incidents/surge.py) ------------------------------------------


class ConfirmProposalInputSerializer(serializers.Serializer):
    """All optional: the proposal's title, severity and public message are kept unless given."""

    title = serializers.CharField(max_length=200, required=False)
    severity = SeverityField(required=False)
    public_message = LocalizedTextField(required=False)
    agent_script = LocalizedTextField(required=False)


class DismissProposalInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


def _proposed(pk: int) -> Incident:
    return get_object_or_404(Incident.objects.filter(status=Incident.Status.PROPOSED), pk=pk)


class IncidentConfirmProposalApi(APIView):
    """Ops confirm a proposed incident: declared (source: surge) through the normal declaration,
    which attaches the cluster's tickets and alerts agents."""

    permission_classes = [HasRole.of(*OPS_ROLES)]

    @extend_schema(request=ConfirmProposalInputSerializer, responses=DeclareOutputSerializer)
    def post(self, request, pk: int):
        incident = _proposed(pk)
        body = ConfirmProposalInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = surge.surge_confirm(incident=incident, actor=request.user, **body.validated_data)
        incident = result.incident
        incident.linked_tickets = result.linked_count
        incident.affected_subscriptions = result.affected_subscriptions
        return Response(DeclareOutputSerializer(incident).data)


class IncidentDismissProposalApi(APIView):
    """Ops dismiss a proposed incident: withdrawn, and its cell stays quiet for a while."""

    permission_classes = [HasRole.of(*OPS_ROLES)]

    @extend_schema(request=DismissProposalInputSerializer, responses=ProposedIncidentOutputSerializer)
    def post(self, request, pk: int):
        incident = _proposed(pk)
        body = DismissProposalInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        surge.surge_dismiss(incident=incident, actor=request.user, reason=body.validated_data["reason"])
        return Response(ProposedIncidentOutputSerializer(incident).data)
