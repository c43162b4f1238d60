"""Tickets API (v1): one class per operation; services do the work, supportdesk.api maps errors."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core import idempotency
from core.errors import DomainError, Forbidden
from core.pagination import keyset, paginate
from core.parsing import MAX_INT
from core.roles import (
    CUSTOMER,
    STAFF_ROLES,
    HasRole,
    has_role,
    is_staff_member,
)
from customers.models import Area, Customer, EquipmentModel, Service, Subscription
from tickets import attachments, selectors, services
from tickets.extensions import extensions
from tickets.models import Attachment, Macro, Ticket, TicketEvent


class TicketOutSerializer(serializers.ModelSerializer):
    """A ticket as integrations see it; higher apps add read-only fields (``incidents``) through
    ``tickets.extensions``."""

    reference = serializers.CharField(read_only=True)
    customer = serializers.SlugRelatedField(slug_field="number", read_only=True)
    service = serializers.SlugRelatedField(slug_field="code", read_only=True)
    area = serializers.SlugRelatedField(slug_field="code", read_only=True)
    equipment = serializers.SlugRelatedField(slug_field="code", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "reference",
            "customer",
            "subscription",
            "channel",
            "category",
            "service",
            "service_source",
            "area",
            "equipment",
            "subject",
            "description",
            "status",
            "priority",
            "queue",
            "assignee",
            "created_at",
            "updated_at",
            "sla_due_at",
            "resolved_at",
            "keep_open",
            "needs_attention",
        ]

    def get_fields(self):
        fields = super().get_fields()
        for name, make_field in extensions.payload_fields.items():
            fields[name] = make_field()
        return fields


# What only staff see of a ticket: who works on it, where and how urgently, and how it was classified.
STAFF_ONLY_FIELDS = (
    "service_source",
    "priority",
    "queue",
    "assignee",
    "sla_due_at",
    "keep_open",
    "needs_attention",
)


class CustomerTicketOutSerializer(TicketOutSerializer):
    """A ticket as its customer sees it through the API: no staff-only fields, and of the higher
    apps' fields only those registered for customers (``extensions.customer_payload_fields``)."""

    class Meta(TicketOutSerializer.Meta):
        fields = [f for f in TicketOutSerializer.Meta.fields if f not in STAFF_ONLY_FIELDS]

    def get_fields(self):
        fields = serializers.ModelSerializer.get_fields(self)
        for name, make_field in extensions.customer_payload_fields.items():
            fields[name] = make_field()
        return fields


def ticket_serializer_for(user) -> type[TicketOutSerializer]:
    return TicketOutSerializer if is_staff_member(user) else CustomerTicketOutSerializer


def tickets_for_payload():
    """Tickets with what their API payload reads, in a constant number of queries per page."""
    qs = Ticket.objects.select_related("customer", "service", "area", "equipment", "assignee")
    return extensions.prefetch_payload(qs)


def ticket_out(ticket: Ticket, user) -> dict:
    """The ticket's payload as ``user`` may see it (staff: everything; its customer: their view)."""
    return ticket_serializer_for(user)(tickets_for_payload().get(pk=ticket.pk)).data


def opened_ticket_out(ticket: Ticket, user) -> dict:
    """``ticket_out`` for a ticket this request has just opened, from the object in hand:
    ``services.ticket_open`` set every field the payload shows and loaded the related rows it names
    (customer, service, area, equipment; no assignee yet), so only the higher apps' prefetches (the
    incidents matching linked) are read. Tested equal to what a GET of the ticket returns."""
    prefetch_related_objects([ticket], *extensions.payload_prefetches)
    return ticket_serializer_for(user)(ticket).data


class TicketOpenInSerializer(serializers.Serializer):
    customer = serializers.SlugRelatedField(
        slug_field="number", queryset=Customer.objects.all(), required=False
    )
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20000)
    category = serializers.ChoiceField(choices=Ticket.Category.choices, default=Ticket.Category.TECHNICAL)
    channel = serializers.ChoiceField(choices=Ticket.Channel.choices, default=Ticket.Channel.API)
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, default=Ticket.Priority.NORMAL)
    service = serializers.SlugRelatedField(slug_field="code", queryset=Service.objects.all(), required=False)
    area = serializers.SlugRelatedField(slug_field="code", queryset=Area.objects.all(), required=False)
    equipment = serializers.SlugRelatedField(
        slug_field="code", queryset=EquipmentModel.objects.all(), required=False
    )
    # With what opening the ticket reads of it (its service, area and equipment), in the same query.
    subscription = serializers.PrimaryKeyRelatedField(
        queryset=Subscription.objects.select_related("service", "area", "equipment"), required=False
    )
    # Omitted: a confirmation e-mail for tickets the customer wrote (web, API, e-mail), none for phone/chat.
    notify_customer = serializers.BooleanField(required=False, allow_null=True, default=None)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None and not is_staff_member(user):
            # A customer's own subscriptions only: another customer's id reads exactly like a missing
            # one ("object does not exist"), so ids cannot be probed.
            self.fields["subscription"].queryset = self.fields["subscription"].queryset.filter(
                customer__user=user
            )


class TicketListOpenApi(ListAPIView):
    """GET: staff list tickets (``?status=&queue=&incident=``), customers their own.
    POST: open a ticket; matching runs inline and the response lists the incidents it was linked to."""

    permission_classes = [HasRole.of(*STAFF_ROLES, CUSTOMER)]
    serializer_class = TicketOutSerializer
    # Newest first by id: the primary key serves the unfiltered list and ?queue=,
    # ticket_status_queue_id_idx ?status= with or without a queue (EXPLAIN at 1,000,000 tickets in
    # bench/README.md).
    pagination_class = keyset("-id", estimate_total=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="One status or several, comma-separated."),
            OpenApiParameter("queue", str),
            *(f.parameter for f in extensions.list_filters.values()),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_serializer_class(self):
        return ticket_serializer_for(self.request.user)

    def get_queryset(self):
        qs = tickets_for_payload()
        if not is_staff_member(self.request.user):
            qs = qs.filter(customer__user=self.request.user)
        params = self.request.query_params
        if params.get("status"):
            statuses = params["status"].split(",")
            if not set(statuses) <= set(Ticket.Status.values):
                # Also what keeps the list an index walk: an unknown status would read every row.
                raise DomainError(_("Unknown status."), field="status")
            qs = qs.filter(status__in=statuses)
        if params.get("queue"):
            if params["queue"] not in Ticket.Queue.values:
                raise DomainError(_("Unknown queue."), field="queue")
            qs = qs.filter(queue=params["queue"])
        for name, list_filter in extensions.list_filters.items():
            if params.get(name):
                qs = list_filter.apply(qs, params[name])
        return qs

    @extend_schema(
        request=TicketOpenInSerializer,
        responses={201: TicketOutSerializer},
        parameters=[idempotency.PARAMETER],
    )
    @idempotency.idempotent
    def post(self, request, *args, **kwargs):
        data = TicketOpenInSerializer(data=request.data, user=request.user)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        customer = fields.pop("customer", None)
        if not is_staff_member(request.user):
            own = Customer.objects.filter(user=request.user).first()
            if own is None or (customer is not None and customer != own):
                raise DomainError(_("You can only open tickets for yourself."), field="customer")
            customer = own
        if customer is None:
            raise DomainError(_("This field is required."), field="customer")
        ticket = services.ticket_open(customer=customer, actor=request.user, **fields)
        return Response(opened_ticket_out(ticket, request.user), status=status.HTTP_201_CREATED)


class TicketPatchInSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        required=False,
        allow_null=True,
    )
    service = serializers.SlugRelatedField(slug_field="code", queryset=Service.objects.all(), required=False)
    area = serializers.SlugRelatedField(slug_field="code", queryset=Area.objects.all(), required=False)
    equipment = serializers.SlugRelatedField(
        slug_field="code", queryset=EquipmentModel.objects.all(), required=False
    )
    keep_open = serializers.BooleanField(
        required=False,
        help_text="True: when a linked incident is resolved, the customer gets the resolution reply "
        "but the ticket stays open (flagged needs_attention).",
    )


STALE_HELP = (
    "The ticket changed after the If-Match version: nothing was saved. The body's `changes` lists "
    "what happened since, one line each."
)


def _if_match(request) -> str | None:
    """The version in ``If-Match`` (quotes and a weak ``W/`` dropped); None when absent or ``*``."""
    value = request.headers.get("If-Match", "").strip()
    if not value or value == "*":
        return None
    return value.removeprefix("W/").strip('"')


def _with_etag(response: Response, ticket: Ticket) -> Response:
    response["ETag"] = f'"{ticket.version}"'
    return response


class TicketDetailApi(APIView):
    """GET: the ticket (customers: their own only; others' are 404). PATCH (staff): status,
    assignee, service/area/equipment, keep_open — each through its own service."""

    permission_classes = [HasRole.of(*STAFF_ROLES, CUSTOMER)]

    @extend_schema(responses=TicketOutSerializer)
    def get(self, request, reference: str):
        ticket = selectors.get_ticket_for(request.user, reference)
        return _with_etag(Response(ticket_out(ticket, request.user)), ticket)

    @extend_schema(
        request=TicketPatchInSerializer,
        responses={200: TicketOutSerializer, 412: OpenApiResponse(description=STALE_HELP)},
        parameters=[
            OpenApiParameter(
                "If-Match",
                str,
                OpenApiParameter.HEADER,
                description="The ETag of the ticket as you read it: the change is refused (412) if the "
                "ticket has changed since, with what changed. Optional.",
            )
        ],
    )
    def patch(self, request, reference: str):
        if not has_role(request.user, *STAFF_ROLES):
            raise Forbidden(_("Only staff can change a ticket."))
        ticket = selectors.get_ticket_for(request.user, reference)
        data = TicketPatchInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = data.validated_data
        # One PATCH, one transaction: a refused change rolls back the ones before it; the row is
        # locked first, so the version checked is the one the changes apply to.
        with transaction.atomic():
            services.ticket_lock(ticket, version=_if_match(request))
            if "status" in changes:
                services.ticket_set_status(ticket=ticket, status=changes["status"], actor=request.user)
            if "assignee" in changes:
                services.ticket_assign(ticket=ticket, assignee=changes["assignee"], actor=request.user)
            scope = {k: changes[k] for k in ("service", "area", "equipment") if k in changes}
            if scope:
                services.ticket_change_scope(ticket=ticket, actor=request.user, **scope)
            if "keep_open" in changes:
                services.ticket_set_keep_open(
                    ticket=ticket, keep_open=changes["keep_open"], actor=request.user
                )
        return _with_etag(Response(ticket_out(ticket, request.user)), ticket)


class CommentInSerializer(serializers.Serializer):
    """As JSON, or as ``multipart/form-data`` with files in ``attachments`` (repeated), judged as the
    portal's and e-mail's are (``tickets.attachments``): by their bytes, against the size, count and
    type limits; one refused file refuses the comment (400 naming it)."""

    body = serializers.CharField(max_length=20000)
    public = serializers.BooleanField(default=False)
    attachments = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        default=list,
        help_text="Files (multipart only). With a public reply the customer sees them; with a note, staff only.",
    )

    def validate_attachments(self, files) -> list[attachments.Upload]:
        uploads, errors = attachments.read_uploads(files)
        if errors:
            raise serializers.ValidationError(errors)
        return uploads


class AttachmentOutSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Where to download it (same sign-in).")

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "url"]

    def get_url(self, attachment: Attachment) -> str:
        return reverse("tickets:attachment", args=[attachment.pk])


class CommentOutSerializer(serializers.ModelSerializer):
    """One message of the conversation: what the customer wrote or was told (and, for staff, notes)."""

    kind = serializers.CharField(read_only=True, help_text="opened, reply, customer-message or note.")
    author = serializers.SerializerMethodField(help_text="Who wrote it; null when the desk wrote it.")
    incident = serializers.SerializerMethodField(help_text="The incident it was sent for, if any.")
    attachments = AttachmentOutSerializer(many=True, read_only=True)

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "public", "body", "author", "incident", "attachments", "created_at"]

    def get_author(self, event: TicketEvent) -> str | None:
        if event.actor is None:
            return None
        viewer = self.context.get("viewer")
        if viewer is not None and not is_staff_member(viewer) and event.actor_id != viewer.pk:
            # A customer sees who answered by name, never a staff login name.
            return event.actor.get_full_name() or _("Customer service")
        return event.actor.get_full_name() or event.actor.get_username()

    def get_incident(self, event: TicketEvent) -> int | None:
        return (event.data or {}).get("incident")


class TicketCommentApi(APIView):
    """GET: the conversation — public replies and the customer's messages; staff also see internal
    notes. Customers read their own tickets only (others' are 404). POST: staff reply (public) or
    note; a customer's comment on their own ticket is always public."""

    permission_classes = [HasRole.of(*STAFF_ROLES, CUSTOMER)]
    # Oldest first (stable while replies arrive), along ticketevent_timeline_idx (ticket, created_at).
    pagination_class = keyset("created_at", "id")
    CUSTOMER_KINDS = (TicketEvent.Kind.OPENED, TicketEvent.Kind.REPLY, TicketEvent.Kind.CUSTOMER_MESSAGE)

    @extend_schema(responses=CommentOutSerializer(many=True))
    def get(self, request, reference: str):
        ticket = selectors.get_ticket_for(request.user, reference)
        events = (
            TicketEvent.objects.filter(ticket=ticket)
            .exclude(body="")
            .select_related("actor")
            .prefetch_related("attachments")
        )
        if is_staff_member(request.user):
            events = events.filter(kind__in=[*self.CUSTOMER_KINDS, TicketEvent.Kind.NOTE])
        else:
            events = events.filter(kind__in=self.CUSTOMER_KINDS, public=True)
        return paginate(
            self,
            events,
            lambda rows: CommentOutSerializer(rows, many=True, context={"viewer": request.user}).data,
        )

    @extend_schema(
        request=CommentInSerializer, responses={201: TicketOutSerializer}, parameters=[idempotency.PARAMETER]
    )
    @idempotency.idempotent
    def post(self, request, reference: str):
        ticket = selectors.get_ticket_for(request.user, reference)
        data = CommentInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        services.ticket_comment(
            ticket=ticket,
            actor=request.user,
            body=fields["body"],
            public=fields["public"],
            uploads=fields["attachments"],
        )
        return Response(ticket_out(ticket, request.user), status=status.HTTP_201_CREATED)


class EscalateInSerializer(serializers.Serializer):
    summary = serializers.CharField(max_length=500)
    tried = serializers.CharField(max_length=5000)
    customer_impact = serializers.CharField(max_length=500, required=False, default="")


class TicketEscalateApi(APIView):
    """Staff: hand the ticket to second line with a structured hand-over."""

    permission_classes = [HasRole.of(*STAFF_ROLES)]

    @extend_schema(request=EscalateInSerializer, responses=TicketOutSerializer)
    def post(self, request, reference: str):
        ticket = selectors.get_ticket_for(request.user, reference)
        data = EscalateInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.ticket_escalate(ticket=ticket, actor=request.user, **data.validated_data)
        return Response(ticket_out(ticket, request.user))


class MergeInSerializer(serializers.Serializer):
    into = serializers.CharField(max_length=30, help_text="The reference of the ticket to keep, e.g. SD-7.")


class TicketMergeApi(APIView):
    """Staff: join this ticket (a duplicate) into another open ticket of the same customer. Its
    timeline moves there, it is closed pointing at it, and the customer gets one reply saying so.
    Answers with the ticket kept."""

    permission_classes = [HasRole.of(*STAFF_ROLES)]

    @extend_schema(
        request=MergeInSerializer,
        responses={200: TicketOutSerializer, 412: OpenApiResponse(description=STALE_HELP)},
    )
    def post(self, request, reference: str):
        ticket = selectors.get_ticket_for(request.user, reference)
        data = MergeInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        into = selectors.get_ticket_for(request.user, data.validated_data["into"])
        kept = services.ticket_merge(ticket=ticket, into=into, actor=request.user, version=_if_match(request))
        return _with_etag(Response(ticket_out(kept, request.user)), kept)


class BulkInSerializer(serializers.Serializer):
    tickets = serializers.ListField(
        child=serializers.CharField(max_length=30),
        min_length=1,
        max_length=services.BULK_LIMIT,
        help_text="References, e.g. SD-7. Tickets that are not open (or not found) are left out.",
    )
    action = serializers.ChoiceField(choices=["assign", "unassign", *services.BULK_STATUSES, "macro"])
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        required=False,
        help_text="For action=assign: a staff member's username (default: you).",
    )
    macro = serializers.PrimaryKeyRelatedField(
        queryset=Macro.objects.filter(active=True),
        required=False,
        help_text="For action=macro: the id of the canned reply to send, each customer in their language.",
    )

    def get_fields(self):
        fields = super().get_fields()
        # Higher apps' actions on a target (extensions.bulk_actions): link, with the incident's id.
        fields["action"] = serializers.ChoiceField(
            choices=["assign", "unassign", *services.BULK_STATUSES, "macro", *extensions.bulk_actions]
        )
        for action in extensions.bulk_actions.values():
            fields[action.field] = serializers.IntegerField(
                required=False, min_value=1, max_value=MAX_INT, help_text=action.help
            )
        return fields

    def validate(self, data):
        action = data["action"]
        needed = "macro" if action == "macro" else getattr(extensions.bulk_actions.get(action), "field", None)
        if needed and needed not in data:
            raise serializers.ValidationError({needed: [_("This field is required.")]})
        return data


class TicketBulkApi(APIView):
    """Staff: one action on many open tickets, as one set-based write with a timeline entry on each:
    assign, unassign, a status, ``macro`` (reply with a canned reply, each customer in their language,
    e-mailed as a single reply is) or ``link`` (to an active incident). Answers with how many
    changed. With an ``Idempotency-Key`` a retry replays the answer and changes (or sends) nothing."""

    permission_classes = [HasRole.of(*STAFF_ROLES)]

    @extend_schema(
        request=BulkInSerializer,
        responses={200: inline_serializer("BulkOut", {"changed": serializers.IntegerField()})},
        parameters=[idempotency.PARAMETER],
    )
    @idempotency.idempotent
    def post(self, request):
        data = BulkInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        ids = [Ticket.pk_from_reference(reference) for reference in given["tickets"]]
        if None in ids:
            raise DomainError(_("Give ticket references such as SD-7."), field="tickets")
        action = given["action"]
        if action in ("assign", "unassign"):
            assignee = given.get("assignee", request.user) if action == "assign" else None
            changed = services.tickets_bulk_assign(ticket_ids=ids, assignee=assignee, actor=request.user)
        elif action == "macro":
            changed = services.tickets_bulk_reply(ticket_ids=ids, macro=given["macro"], actor=request.user)
        elif action in extensions.bulk_actions:
            bulk = extensions.bulk_actions[action]
            changed = bulk.apply(ticket_ids=ids, target=given[bulk.field], actor=request.user)
        else:
            changed = services.tickets_bulk_set_status(ticket_ids=ids, status=action, actor=request.user)
        return Response({"changed": changed})
