"""What agents are told (alerts) and what customers are told (notifications): rows first, push second."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.languages import Language
from customers.models import Customer
from incidents.models import Incident, StatusSubscription
from tickets.models import Ticket


class AlertKind(models.TextChoices):
    INCIDENT_DECLARED = "incident-declared", _("Incident declared")
    INCIDENT_UPDATED = "incident-updated", _("Incident updated")
    INCIDENT_RESOLVED = "incident-resolved", _("Incident resolved")
    INCIDENT_WITHDRAWN = "incident-withdrawn", _("Incident withdrawn")
    # To ops only (one alert each): surge detection proposes an incident for them to decide on.
    INCIDENT_PROPOSED = "incident-proposed", _("Incident proposed from a surge")
    TICKET_MATCHED = "ticket-matched", _("Your ticket matched an incident")


class Alert(models.Model):
    """Something every agent (``recipient`` empty) or one agent must know, persisted before it is pushed.

    ``pushed_at`` is set once the fan-out task has handed it to the Channels layer; until then the
    periodic sweep keeps re-enqueuing it (partial index ``alert_unpushed_idx``)."""

    Kind = AlertKind

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="alerts")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    pushed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in AlertKind]), name="alert_kind_valid"
            ),
        ]
        indexes = [
            # Read by notifications.tasks.sweep_pending_alerts.
            models.Index(
                fields=["created_at"], condition=models.Q(pushed_at__isnull=True), name="alert_unpushed_idx"
            ),
            # Catch-up: a user's direct alerts after an id.
            models.Index(fields=["recipient", "id"], name="alert_recipient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.incident}"


class AlertReceipt(models.Model):
    """What one agent's browser did with an alert. Written when the browser first reports it."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_receipts"
    )
    delivered_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("alert receipt")
        verbose_name_plural = _("alert receipts")
        constraints = [models.UniqueConstraint(fields=["alert", "user"], name="receipt_alert_user_unique")]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.user_id}"


class Notification(models.Model):
    """An e-mail to a customer: an outbox row written in the transaction of the event that causes it,
    sent by a worker (``notifications.outbox``), at most once per ``key`` apart from the one message in
    flight when a worker dies.

    ``key`` is ``<kind>.<event>.c<customer>`` (e.g. ``incident-affects-you.i42.c7``); ``message_id`` is
    derived from it, so a re-sent message carries the same Message-ID and mail clients collapse it.
    Subject and body are rendered when sent, in ``language``; ``context`` holds what the event adds
    (the ETA told, the reply's timeline event).
    """

    class Kind(models.TextChoices):
        TICKET_CONFIRMATION = "ticket-confirmation", _("Ticket received")
        TICKET_REPLY = "ticket-reply", _("Reply to your ticket")
        INCIDENT_AFFECTS_YOU = "incident-affects-you", _("An outage affects you")
        INCIDENT_UPDATE = "incident-update", _("Outage update")
        INCIDENT_RESOLVED = "incident-resolved", _("Outage over")
        SIGN_IN_LINK = "sign-in-link", _("Sign-in link")
        CONTACT_CONFIRM = "contact-confirm", _("Confirm a message sent without signing in")
        STATUS_CONFIRM = "status-confirm", _("Confirm following the service status")
        STATUS_NOTICE = "status-notice", _("Service status of a followed place")

    # Incident notices are proactive: an opted-out customer does not get them, and they carry
    # one-click unsubscribe headers.
    PROACTIVE_KINDS = (Kind.INCIDENT_AFFECTS_YOU, Kind.INCIDENT_UPDATE, Kind.INCIDENT_RESOLVED)

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not sent (opted out)")

    key = models.CharField(max_length=200, unique=True, help_text="Idempotency key: one e-mail per event.")
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    # Every row is for a customer, except the status page's mail to people who follow a place by
    # e-mail (``status_subscription``), who need not be customers.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    status_subscription = models.ForeignKey(
        StatusSubscription, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    # No index of its own: ``notification_incident_idx`` starts with it.
    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        db_index=False,
    )
    language = models.CharField(max_length=2, choices=Language.choices)
    to_email = models.EmailField()
    message_id = models.CharField(_("Message-ID"), max_length=250, blank=True, default="")
    context = models.JSONField(default=dict, blank=True)
    subject = models.CharField(max_length=250, blank=True, default="")
    body = models.TextField(blank=True, default="")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # A pending row is sent once this has passed (backoff after a temporary failure) ...
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # ... and no worker holds it: a claim is a lease, so a killed worker's rows come back.
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["pending", "sent", "failed", "skipped"]),
                name="notification_state_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False) | models.Q(status_subscription__isnull=False),
                name="notification_has_recipient",
            ),
        ]
        indexes = [
            # Read by notifications.outbox.claim (the sender) and the sweep: due pending rows in order.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(state="pending"),
                name="notification_due_idx",
            ),
            # Per incident: who was told (the incident page's "n of m"), the last ETA told, and the
            # follow-ups (update, resolved) written from the first notice's rows.
            models.Index(fields=["incident", "kind", "id"], name="notification_incident_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.to_email}"
