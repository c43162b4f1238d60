"""Tickets and their timeline."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.parsing import MAX_INT, is_ascii_digits
from customers.models import Area, Customer, EquipmentModel, Service, Subscription

REFERENCE_PREFIX = "SD-"


class TicketQuerySet(models.QuerySet):
    def open(self) -> TicketQuerySet:
        return self.filter(status__in=Ticket.OPEN_STATUSES)

    def by_reference(self, reference: str) -> TicketQuerySet:
        """Tickets whose reference is ``reference`` (none for anything that is not ``SD-<number>``)."""
        pk = Ticket.pk_from_reference(reference)
        return self.filter(pk=pk) if pk is not None else self.none()


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING_CUSTOMER = "pending-customer", _("Waiting for customer")
    ESCALATED = "escalated", _("Escalated")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class TicketChannel(models.TextChoices):
    WEB = "web", _("Web form")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    API = "api", _("API")


class TicketCategory(models.TextChoices):
    TECHNICAL = "technical", _("Technical")
    BILLING = "billing", _("Billing")
    SALES = "sales", _("Sales")
    OTHER = "other", _("Other")


class TicketPriority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class TicketQueue(models.TextChoices):
    FIRST_LINE = "first-line", _("First line")
    SECOND_LINE = "second-line", _("Second line")
    BILLING = "billing", _("Billing")
    SALES = "sales", _("Sales")


class TicketSource(models.TextChoices):
    GIVEN = "given", _("given")
    SUBSCRIPTION = "subscription", _("from the subscription")
    TEXT = "text", _("guessed from the text")
    NONE = "", _("unknown")


class Ticket(models.Model):
    """A customer's case. ``service``, ``area`` and ``equipment`` hold the *effective* values the
    ticket is matched on: given by the customer or agent, else taken from the subscription, else
    (service only) guessed from the text; ``service_source`` records which."""

    Status = TicketStatus
    Channel = TicketChannel
    Category = TicketCategory
    Priority = TicketPriority
    Queue = TicketQueue
    Source = TicketSource

    OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.ESCALATED)
    # Where each category lands when it is opened (story 4: routed by category, never dropped).
    QUEUE_FOR_CATEGORY = {
        Category.TECHNICAL: Queue.FIRST_LINE,
        Category.BILLING: Queue.BILLING,
        Category.SALES: Queue.SALES,
        Category.OTHER: Queue.FIRST_LINE,
    }

    # No index of its own on customer or assignee: ticket_customer_idx and ticket_assignee_idx lead with
    # them. A resolve rewrites every index of the ticket row (status is in the partial indexes'
    # predicates, so no HOT update): each redundant index costs each of 10,000 resolves (bench/README.md).
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets", db_index=False)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    category = models.CharField(
        _("category"), max_length=10, choices=Category.choices, default=Category.TECHNICAL
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    service_source = models.CharField(max_length=12, choices=Source.choices, blank=True, default="")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    equipment = models.ForeignKey(
        EquipmentModel, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), max_length=20000)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    queue = models.CharField(_("queue"), max_length=12, choices=Queue.choices, default=Queue.FIRST_LINE)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        db_index=False,
    )
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    sla_due_at = models.DateTimeField(_("SLA due"), null=True, blank=True)
    sla_breached = models.BooleanField(_("SLA breached"), default=False)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    # A person's "do not let an incident's resolution close this ticket" (the customer has more going on).
    keep_open = models.BooleanField(_("keep open when an incident is resolved"), default=False)
    # Set when something automatic left the ticket for its agent to look at (an incident resolved, but
    # the ticket was kept open); cleared when staff reply to it or change its status.
    needs_attention = models.BooleanField(_("needs attention"), default=False)
    # A duplicate joined into another ticket of the same customer: closed, its timeline moved there.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        verbose_name=_("merged into"),
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in TicketStatus]), name="ticket_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(category__in=[c.value for c in TicketCategory]),
                name="ticket_category_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=[c.value for c in TicketChannel]), name="ticket_channel_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(queue__in=[q.value for q in TicketQueue]), name="ticket_queue_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=4), name="ticket_priority_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["resolved", "closed"]) | models.Q(resolved_at__isnull=False),
                name="ticket_resolved_has_time",
            ),
            # Only a closed ticket can have been merged, and never into itself.
            models.CheckConstraint(
                condition=models.Q(merged_into__isnull=True)
                | (models.Q(status="closed") & ~models.Q(merged_into=models.F("pk"))),
                name="ticket_merged_is_closed",
            ),
        ]
        indexes = [
            # The queue page's default order: open tickets of one queue, soonest SLA due first, id
            # breaking ties (the keyset cursor); the expression is tickets.selectors.QUEUE_ORDERS["sla"].
            models.Index(
                F("queue"),
                Coalesce("sla_due_at", "created_at"),
                F("id"),
                condition=models.Q(status__in=["new", "open", "pending-customer", "escalated"]),
                name="ticket_open_queue_sla_idx",
            ),
            # Open tickets of one queue by age (partial: closed ones are most rows).
            models.Index(
                fields=["queue", "-created_at"],
                condition=models.Q(status__in=["new", "open", "pending-customer", "escalated"]),
                name="ticket_open_queue_idx",
            ),
            # Matching an incident: open tickets of a service since a time.
            models.Index(
                fields=["service", "created_at"],
                condition=models.Q(status__in=["new", "open", "pending-customer", "escalated"]),
                name="ticket_open_service_idx",
            ),
            # Also the dashboard's heat table (open tickets per area and service): with the service
            # included it is an index-only scan instead of a visit to every open ticket's row.
            models.Index(
                fields=["area", "created_at"],
                condition=models.Q(status__in=["new", "open", "pending-customer", "escalated"]),
                include=["service"],
                name="ticket_open_area_idx",
            ),
            models.Index(
                fields=["equipment"],
                condition=models.Q(status__in=["new", "open", "pending-customer", "escalated"]),
                name="ticket_open_equipment_idx",
            ),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_idx"),
            # The dashboard's volume chart: tickets opened per service over a window (index-only scan).
            models.Index(fields=["created_at", "service"], name="ticket_created_service_idx"),
            # The dashboard's second-line time to resolution over a window.
            models.Index(
                fields=["resolved_at", "created_at"],
                condition=models.Q(queue="second-line"),
                name="ticket_l2_resolved_idx",
            ),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_idx"),
            # The ticket API list by status and queue, newest first by keyset (core.pagination): an
            # index walk however rare the pair. Without it the walk is the primary key's, filtered,
            # and the planner takes status and queue as independent: 1.0–1.5 s at 1,000,000 tickets
            # for ?queue=second-line&status=new, which matches nothing (bench/README.md). A status
            # alone: this index and a sort when the status is rare, the primary key when it is common.
            models.Index(fields=["status", "queue", "id"], name="ticket_status_queue_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        """``SD-<id>``: unique because the id is; nothing extra to store or keep in sync."""
        return f"{REFERENCE_PREFIX}{self.pk}"

    @staticmethod
    def pk_from_reference(reference: str) -> int | None:
        """The id in ``SD-<id>``, or ``None`` when it is not one (ASCII digits only: ``SD-²`` is not)."""
        ref = (reference or "").strip().upper()
        digits = ref[len(REFERENCE_PREFIX) :]
        if ref.startswith(REFERENCE_PREFIX) and is_ascii_digits(digits) and int(digits) <= MAX_INT:
            return int(digits)
        return None

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def version(self) -> str:
        """What a reader saw, as a token: every change of a ticket moves ``updated_at``, so its
        microsecond timestamp is the ticket's version (the API's ``ETag``, the forms' hidden field)."""
        return str(int(self.updated_at.timestamp() * 1_000_000))


class TicketEventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    REPLY = "reply", _("Reply")
    CUSTOMER_MESSAGE = "customer-message", _("Customer message")
    NOTE = "note", _("Internal note")
    STATUS = "status", _("Status change")
    ASSIGNED = "assigned", _("Assigned")
    ESCALATED = "escalated", _("Escalated")
    INCIDENT_LINKED = "incident-linked", _("Linked to incident")
    INCIDENT_DETACHED = "incident-detached", _("Detached from incident")
    NOTIFICATION = "notification", _("Notification sent")
    MERGED = "merged", _("Merged")


class TicketEvent(models.Model):
    """One entry in a ticket's timeline. Public entries are shown to the customer."""

    Kind = TicketEventKind

    # Indexed by ticketevent_timeline_idx (ticket, created_at); a second index on ticket alone would
    # be written by every bulk reply and status entry for nothing.
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    public = models.BooleanField(_("visible to the customer"), default=False)
    body = models.TextField(_("text"), blank=True, max_length=20000)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticketevent_timeline_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in TicketEventKind]), name="ticketevent_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id}"


class InboundStatus(models.TextChoices):
    OPENED = "opened", _("Opened a ticket")
    THREADED = "threaded", _("Added to a ticket")
    IGNORED = "ignored", _("Ignored (automatic mail)")
    BOUNCE = "bounce", _("Delivery failure")
    QUARANTINED = "quarantined", _("Quarantined")


class InboundMessage(models.Model):
    """One e-mail taken from an intake mailbox, kept raw. The unique ``message_key`` (the Message-ID,
    else a hash of the raw bytes) is what makes every message imported exactly once: a second poll
    or a retried worker inserts the same key and stops there."""

    Status = InboundStatus

    message_key = models.CharField(max_length=500, unique=True)
    mailbox = models.CharField(_("mailbox"), max_length=300, blank=True)
    raw = models.BinaryField(_("raw message"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    reason = models.TextField(_("reason"), blank=True)
    from_address = models.CharField(_("from"), max_length=320, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_messages"
    )
    # The sender matched no customer: the ticket sits on the placeholder customer until attached.
    sender_unknown = models.BooleanField(_("sender unknown"), default=False)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("inbound e-mail")
        verbose_name_plural = _("inbound e-mails")
        indexes = [
            models.Index(
                fields=["-received_at"],
                condition=models.Q(status="quarantined"),
                name="inbound_quarantine_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in InboundStatus]), name="inbound_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.message_key} ({self.status})"


class Macro(models.Model):
    """A canned reply, written once per language. ``{placeholders}`` in it are filled for the ticket
    it is used on (``tickets.macros``), in the customer's language."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    texts = models.JSONField(_("texts"), default=dict, help_text=_("The reply per language: sv, fi, en."))
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.name


def attachment_path(instance: Attachment, filename: str) -> str:
    """Where the bytes live in storage: a random name under the month, never the sender's name (which
    is kept, sanitised, in ``filename``): no path tricks, no clashes, nothing guessable."""
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file that came with a ticket: an e-mail's attachment or one uploaded in the portal. Bytes in
    Django's storage (``MEDIA_ROOT``), served only through ``tickets.views.attachment_download``.
    ``content_type`` is what the bytes are (sniffed), not what the sender claimed."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    # The timeline entry it came with (the opening message, or the customer's reply).
    event = models.ForeignKey(
        TicketEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class ContactRequest(models.Model):
    """What a signed-out visitor wrote on the contact form (``tickets.contact``), held until they
    confirm through the e-mailed link; then the ticket is opened and this row points at it. Only
    requests whose e-mail address and customer number or phone match a customer are kept."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_requests")
    email = models.EmailField(_("e-mail"))
    category = models.CharField(_("category"), max_length=10, choices=TicketCategory.choices)
    service = models.ForeignKey(Service, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), max_length=20000)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("contact request")
        verbose_name_plural = _("contact requests")

    def __str__(self) -> str:
        return f"contact request {self.pk} ({self.customer_id})"


class SavedView(models.Model):
    """A queue's filter set saved under a name, shown as a tab on the queue page. Its owner's own,
    or shared with every staff member."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=60)
    # The queue page's query string, filters only (tickets.services.saved_view_query).
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    shared = models.BooleanField(_("shared with the team"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="savedview_owner_name_unique")]
        indexes = [
            models.Index(fields=["shared"], name="savedview_shared_idx", condition=models.Q(shared=True))
        ]

    def __str__(self) -> str:
        return self.name
