"""Incidents, their scope and updates, and the links to the tickets they explain."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.i18n import name_in, text_in
from customers.models import Area, EquipmentModel, Service, Subscription
from tickets.models import Ticket


class IncidentQuerySet(models.QuerySet):
    def active(self) -> IncidentQuerySet:
        """Neither resolved nor withdrawn: what matches tickets and what customers and agents see."""
        return self.exclude(status__in=INACTIVE_STATUSES)


class IncidentKind(models.TextChoices):
    OUTAGE = "outage", _("Outage")
    DEGRADATION = "degradation", _("Degradation")
    MAINTENANCE = "maintenance", _("Planned maintenance")
    KNOWN_ISSUE = "known-issue", _("Known issue")


class IncidentSeverity(models.IntegerChoices):
    MINOR = 1, _("Minor")
    MAJOR = 2, _("Major")
    CRITICAL = 3, _("Critical")


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")
    # Declared by mistake: hidden from customers and matching, kept for the audit trail.
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # Proposed by surge detection (incidents/surge.py), not yet declared: it links nothing and is
    # shown to nobody but ops (and agents handling a ticket in its cell) until ops confirm it.
    PROPOSED = "proposed", _("Proposed")


# An incident in one of these links nothing and is shown to nobody outside operations' history.
INACTIVE_STATUSES = (
    IncidentStatus.RESOLVED.value,
    IncidentStatus.WITHDRAWN.value,
    IncidentStatus.PROPOSED.value,
)


class IncidentSource(models.TextChoices):
    MANUAL = "manual", _("Declared by operations")
    MONITORING = "monitoring", _("From monitoring")
    SURGE = "proposed-from-surge", _("Proposed from a surge of tickets")


class Incident(models.Model):
    Kind = IncidentKind
    Severity = IncidentSeverity
    Status = IncidentStatus
    Source = IncidentSource

    title = models.CharField(_("title"), max_length=200)
    # The title per language for customers' pages and mail; ``title`` is the fallback (and what staff
    # read).
    titles = models.JSONField(_("title per language"), default=dict, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    severity = models.PositiveSmallIntegerField(
        _("severity"), choices=Severity.choices, default=Severity.MAJOR
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.INVESTIGATING
    )
    source = models.CharField(_("source"), max_length=24, choices=Source.choices, default=Source.MANUAL)
    # Set by monitoring (Alertmanager's group key) so a repeated webhook updates instead of duplicating.
    external_key = models.CharField(max_length=300, null=True, blank=True, unique=True)
    # Monitoring raised it but its labels did not say (all) of where: matching is held (it links no
    # ticket, covers no subscription, credits no one) until ops confirm a scope. An empty scope
    # means "everything", so an unmapped alert must never be matched as it stands.
    needs_scope = models.BooleanField(_("needs scope"), default=False)

    started_at = models.DateTimeField(_("started"), default=timezone.now)
    detected_at = models.DateTimeField(_("detected"), default=timezone.now)
    eta = models.DateTimeField(_("expected fixed"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    # The last reopening: its links, attached all along, paused their tickets' SLA only from then on
    # (incidents/sla.py).
    reopened_at = models.DateTimeField(_("reopened"), null=True, blank=True)

    description = models.TextField(_("internal description"), blank=True)
    # Per language: {"sv": "...", "fi": "...", "en": "..."}.
    public_message = models.JSONField(_("public message"), default=dict, blank=True)
    agent_script = models.JSONField(_("what agents say"), default=dict, blank=True)
    workaround = models.JSONField(_("workaround, in steps a customer can follow"), default=dict, blank=True)

    # Scope: a dimension left empty matches everything (see incidents/matching.py).
    services = models.ManyToManyField(
        Service, blank=True, related_name="incidents", verbose_name=_("services")
    )
    areas = models.ManyToManyField(Area, blank=True, related_name="incidents", verbose_name=_("areas"))
    equipment = models.ManyToManyField(
        EquipmentModel, blank=True, related_name="incidents", verbose_name=_("equipment models")
    )
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    # "Tell customers": e-mail every customer with an affected active subscription (notifications
    # app). ``incident_declare`` defaults it by kind (``notifies_customers_by_default``).
    notify_customers = models.BooleanField(
        _("tell affected customers by e-mail"), default=False, db_default=False
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("declared"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in IncidentKind]), name="incident_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in IncidentStatus]), name="incident_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(severity__gte=1, severity__lte=3), name="incident_severity_valid"
            ),
            # A withdrawn incident keeps its resolved_at if it had one (withdrawn after resolving).
            models.CheckConstraint(
                condition=models.Q(status="resolved", resolved_at__isnull=False)
                | models.Q(status="withdrawn")
                | (~models.Q(status__in=["resolved", "withdrawn"]) & models.Q(resolved_at__isnull=True)),
                name="incident_resolved_iff_resolved_at",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status"],
                condition=~models.Q(status__in=INACTIVE_STATUSES),
                name="incident_active_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @staticmethod
    def notifies_customers_by_default(kind: str) -> bool:
        """Outages and planned maintenance are told to customers unless ops say otherwise."""
        return kind in (IncidentKind.OUTAGE, IncidentKind.MAINTENANCE)

    @property
    def is_active(self) -> bool:
        return self.status not in INACTIVE_STATUSES

    @property
    def is_withdrawn(self) -> bool:
        return self.status == self.Status.WITHDRAWN

    @property
    def is_proposed(self) -> bool:
        return self.status == self.Status.PROPOSED

    def title_in(self, language: str | None = None) -> str:
        return name_in(self.titles, self.title, language)

    def public_message_in(self, language: str | None = None) -> str:
        return text_in(self.public_message, language)

    def agent_script_in(self, language: str | None = None) -> str:
        return text_in(self.agent_script, language)

    def workaround_in(self, language: str | None = None) -> str:
        return text_in(self.workaround, language)


class IncidentUpdate(models.Model):
    """An entry in an incident's timeline; public ones reach the status page and affected customers."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    public = models.BooleanField(_("public"), default=True)
    message = models.JSONField(_("message"), default=dict)
    status = models.CharField(
        _("status after this update"), max_length=20, choices=Incident.Status.choices, blank=True
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("posted"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("incident update")
        verbose_name_plural = _("incident updates")
        indexes = [models.Index(fields=["incident", "created_at"], name="incidentupdate_timeline_idx")]

    def __str__(self) -> str:
        return text_in(self.message)[:80]

    def message_in(self, language: str | None = None) -> str:
        return text_in(self.message, language)


class IncidentTicketLink(models.Model):
    """Why an incident explains a ticket. A detached link stays as a row (``detached_at`` set) so
    that matching, which never overwrites an existing (incident, ticket) row, never re-attaches it."""

    class Origin(models.TextChoices):
        AUTO = "auto", _("Matched automatically")
        AGENT = "agent", _("Linked by a person")

    # Fewer indexes, faster set-based inserts (100,000 links per declaration): the unique
    # (incident, ticket) constraint serves incident → tickets; the ticket index serves a ticket's links.
    # No database FK constraint on the incident: PostgreSQL checks it per inserted row at commit,
    # locking the one incident row 100,000 times (3 s of a declaration, measured in bench/). Links
    # are written only by incidents.matching/services for an incident in the same transaction, and
    # Django's CASCADE (done by the ORM, not the database) still deletes them with their incident.
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="links", db_index=False, db_constraint=False
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="incident_links")
    score = models.FloatField(_("score"), default=1.0)
    reasons = models.JSONField(_("reasons"), default=dict)
    origin = models.CharField(_("linked by"), max_length=8, choices=Origin.choices, default=Origin.AUTO)
    # Not indexed: nothing looks links up by person (deleting a user scans, which is rare).
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("linked"), default=timezone.now)
    detached_at = models.DateTimeField(_("detached"), null=True, blank=True)
    detached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    detach_reason = models.CharField(_("why detached"), max_length=300, blank=True)
    # When the incident's resolution reply was written on the ticket: set in the same transaction as
    # that reply (incidents.services.incident_close_linked_tickets), so each ticket gets exactly one,
    # however often the close-the-loop task runs or dies. Not indexed: read per incident through the
    # unique (incident, ticket) index, and an index here would slow the 100,000-link declarations.
    resolution_replied_at = models.DateTimeField(_("resolution reply sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("incident link")
        verbose_name_plural = _("incident links")
        constraints = [
            models.UniqueConstraint(fields=["incident", "ticket"], name="link_incident_ticket_unique"),
            models.CheckConstraint(
                condition=models.Q(origin__in=["auto", "agent"]), name="link_origin_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} ↔ {self.ticket_id}"

    @property
    def attached(self) -> bool:
        return self.detached_at is None


# --- monitoring intake (incidents/monitoring.py) ------------------------------------------------------


class MonitoringReceiver(models.Model):
    """One Alertmanager (or other monitoring) installation allowed to post to the webhook.

    Only a SHA-256 of its bearer token is stored: the token is 256 random bits, so a fast hash is as
    good as a slow one (nothing to brute-force) and keeps the per-request check cheap. The token is
    shown once, when made (admin or ``manage.py monitoring_token``).
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    # The token's first characters, so admins can tell which one a system is configured with.
    token_hint = models.CharField(_("token starts with"), max_length=8, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last delivery"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("monitoring receiver")
        verbose_name_plural = _("monitoring receivers")

    def __str__(self) -> str:
        return self.name


class ScopeDimension(models.TextChoices):
    SERVICE = "service", _("Service")
    AREA = "area", _("Area")
    EQUIPMENT = "equipment", _("Equipment model")


class MonitoringLabelMap(models.Model):
    """How an alert label says where a fault is: ``site=sthlm-dc1`` → area ``se-ab``.

    A row with an empty ``value`` takes any value of the label as our code as it is (``service=email``
    → service ``email``). A label named in some row whose value translates to no known code makes
    the incident "needs scope"; labels named in no row (``alertname``, ``instance``) are ignored.
    """

    Dimension = ScopeDimension

    label = models.CharField(_("label"), max_length=100)
    value = models.CharField(
        _("label value"), max_length=200, blank=True, help_text=_("Empty: any value, taken as our code.")
    )
    dimension = models.CharField(_("dimension"), max_length=10, choices=ScopeDimension.choices)
    code = models.CharField(
        _("our code"), max_length=60, blank=True, help_text=_("Empty when the label value is our code.")
    )

    class Meta:
        ordering = ["label", "value"]
        verbose_name = _("monitoring label mapping")
        verbose_name_plural = _("monitoring label mappings")
        constraints = [
            models.UniqueConstraint(fields=["label", "value"], name="labelmap_label_value_unique"),
            models.CheckConstraint(
                condition=models.Q(dimension__in=[d.value for d in ScopeDimension]),
                name="labelmap_dimension_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label}={self.value or '*'} → {self.dimension} {self.code or '(' + _('as is') + ')'}"

    def clean(self) -> None:
        if self.value and not self.code:
            raise ValidationError({"code": _("Give our code for this label value.")})
        if self.code:
            model = {"service": Service, "area": Area, "equipment": EquipmentModel}[self.dimension]
            if not model.objects.filter(code=self.code).exists():
                raise ValidationError(
                    {"code": _("No %(dimension)s has this code.") % {"dimension": self.dimension}}
                )


class MonitoringAlertGroup(models.Model):
    """One Alertmanager group (its ``groupKey``) of one receiver, and the incident it currently drives.

    ``digest`` is the last delivery's content, so a redelivered notification changes nothing. When
    the group fires again after its incident was resolved, a new incident is declared (``generation``
    counts them; it is part of the incident's ``external_key``).
    """

    receiver = models.ForeignKey(MonitoringReceiver, on_delete=models.PROTECT, related_name="groups")
    group_key = models.TextField(_("group key"))
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="alert_groups"
    )
    generation = models.PositiveIntegerField(default=0)
    status = models.CharField(_("status"), max_length=10, blank=True)
    digest = models.CharField(max_length=64, blank=True)
    alerts = models.JSONField(_("alerts"), default=list, blank=True)
    # Labels that named a dimension but translated to nothing: {"site": ["xyz"]}; "" key: alerts
    # that carried no scope label at all.
    unmapped = models.JSONField(_("labels that map to nothing"), default=dict, blank=True)
    external_url = models.CharField(max_length=500, blank=True)
    truncated_alerts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(_("last delivery"), default=timezone.now)

    class Meta:
        verbose_name = _("monitoring alert group")
        verbose_name_plural = _("monitoring alert groups")
        constraints = [
            models.UniqueConstraint(fields=["receiver", "group_key"], name="alertgroup_receiver_key_unique")
        ]

    def __str__(self) -> str:
        return self.group_key[:80]


# --- compensation (incidents/compensation.py) --------------------------------------------------------


class CompensationPolicy(models.Model):
    """What an outage of a service is worth to a subscriber on a plan: per started day, capped."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="compensation_policies", verbose_name=_("service")
    )
    plan = models.CharField(_("plan"), max_length=10, choices=Subscription.Plan.choices)
    min_outage_minutes = models.PositiveIntegerField(
        _("minimum outage (minutes)"),
        default=0,
        help_text=_("Shorter outages give no credit."),
    )
    amount_per_day = models.DecimalField(
        _("amount per started day"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    cap = models.DecimalField(
        _("cap"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Most one outage can give; empty: no cap."),
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="SEK", help_text=_("ISO 4217, e.g. SEK, EUR.")
    )

    class Meta:
        ordering = ["service", "plan"]
        verbose_name = _("compensation policy")
        verbose_name_plural = _("compensation policies")
        constraints = [
            models.UniqueConstraint(fields=["service", "plan"], name="compensation_service_plan_unique"),
            models.CheckConstraint(
                condition=models.Q(amount_per_day__gte=0), name="compensation_amount_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} / {self.get_plan_display()}"


class Credit(models.Model):
    """A credit owed to a subscription for one resolved outage. Written only by
    ``incidents.compensation.credits_compute`` (one INSERT … SELECT per incident)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="credits")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="credits")
    # Copied from the subscription: credit_for(customer) and the billing export read it directly.
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="credits")
    policy = models.ForeignKey(CompensationPolicy, on_delete=models.SET_NULL, null=True, related_name="+")
    outage_minutes = models.PositiveIntegerField(_("outage (minutes)"))
    days = models.PositiveIntegerField(_("started days"))
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        ordering = ["incident", "id"]
        verbose_name = _("credit")
        verbose_name_plural = _("credits")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "subscription"], name="credit_incident_subscription_unique"
            )
        ]
        indexes = [models.Index(fields=["customer", "incident"], name="credit_customer_idx")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


# --- surge detection (incidents/surge.py) ------------------------------------------------------------


class SurgeLevel(models.TextChoices):
    """Where a surge cell lies: one area of a level of the tree, or one equipment model."""

    POSTCODE = "postcode", _("Postcode")
    MUNICIPALITY = "municipality", _("Municipality")
    REGION = "region", _("Region")
    EQUIPMENT = "equipment", _("Equipment model")


class SurgeState(models.TextChoices):
    OPEN = "open", _("Awaiting a decision")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")
    # Folded into a wider proposal of the same outage (``merged_into``): its tickets went there.
    MERGED = "merged", _("Merged into a wider proposal")


class SurgeProposal(models.Model):
    """What surge detection saw in one cell (service × area, or service × equipment model), carried by
    a ``proposed`` incident. Written only by ``incidents.surge``.

    ``cell`` is the cell's key (``broadband/area/se-ab-0180``). At most one open proposal per cell
    (``surge_one_open_per_cell``): a second detection run, or two at once, grows the proposal instead
    of proposing it again. A dismissed one keeps its cell quiet until ``quiet_until``."""

    Level = SurgeLevel
    State = SurgeState

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="surge")
    cell = models.CharField(_("cell"), max_length=200)
    level = models.CharField(_("level"), max_length=12, choices=SurgeLevel.choices)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    equipment = models.ForeignKey(
        EquipmentModel, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(_("state"), max_length=10, choices=SurgeState.choices, default=SurgeState.OPEN)
    # The numbers that triggered it, as of the last run that saw the cell surge.
    reports = models.PositiveIntegerField(_("reports in the window"))
    window_minutes = models.PositiveSmallIntegerField(_("window (minutes)"))
    expected = models.FloatField(_("usual number in the window"))
    p_value = models.FloatField(_("chance of this many by chance"))
    proposed_at = models.DateTimeField(_("proposed"), default=timezone.now)
    grown_at = models.DateTimeField(_("last grew"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    quiet_until = models.DateTimeField(_("quiet until"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("merged into"),
    )
    tickets = models.ManyToManyField(Ticket, through="SurgeTicket", related_name="+")

    class Meta:
        verbose_name = _("surge proposal")
        verbose_name_plural = _("surge proposals")
        constraints = [
            # Never proposed twice: the detector's INSERT races lose on this, and grow instead.
            models.UniqueConstraint(
                fields=["cell"], condition=models.Q(state="open"), name="surge_one_open_per_cell"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in SurgeState]), name="surge_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(level__in=[v.value for v in SurgeLevel]), name="surge_level_valid"
            ),
        ]
        indexes = [
            # The detector's "cells to keep quiet" and the agents' panel: open or recently dismissed.
            models.Index(fields=["service", "state"], name="surge_service_state_idx"),
        ]

    def __str__(self) -> str:
        return self.cell


class SurgeTicket(models.Model):
    """A ticket counted in a surge proposal (the cluster). Confirming declares the incident, which
    attaches them; a dismissed proposal's tickets stay counted so they do not fire a wider cell."""

    proposal = models.ForeignKey(SurgeProposal, on_delete=models.CASCADE, related_name="cluster")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("surge ticket")
        verbose_name_plural = _("surge tickets")
        constraints = [
            models.UniqueConstraint(fields=["proposal", "ticket"], name="surgeticket_unique"),
        ]
        indexes = [models.Index(fields=["ticket"], name="surgeticket_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.proposal_id} ∋ {self.ticket_id}"


# --- the public status page's e-mail subscriptions (incidents/subscriptions.py) ----------------------


class StatusSubscription(models.Model):
    """Someone (customer or not) who wants e-mail about incidents touching an area, optionally for one
    service. Double opt-in: nothing but the confirmation mail is sent until ``confirmed_at`` is set.
    Unsubscribing deletes the row."""

    email = models.EmailField(_("e-mail"))
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="status_subscriptions")
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="status_subscriptions"
    )
    language = models.CharField(_("language"), max_length=2, default="sv")
    created_at = models.DateTimeField(default=timezone.now)
    # The latest request for a confirmation mail (each one is a new outbox row, rate-limited).
    requested_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)

    class Meta:
        verbose_name = _("status subscription")
        verbose_name_plural = _("status subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["email", "area", "service"],
                condition=models.Q(service__isnull=False),
                name="status_sub_unique_service",
            ),
            models.UniqueConstraint(
                fields=["email", "area"],
                condition=models.Q(service__isnull=True),
                name="status_sub_unique_area",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.area}" + (f" ({self.service})" if self.service_id else "")
