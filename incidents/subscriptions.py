"""E-mail subscriptions to the status of an area (the public status page): double opt-in.

``status_subscribe`` records the wish and announces it (``incidents.signals.status_subscription_requested``);
the notifications app mails the confirmation link through the outbox. The link carries the row's id
signed with SECRET_KEY (``confirm_token``) and expires after ``CONFIRM_MAX_AGE``; confirming is a
conditional UPDATE, so doing it twice is harmless. Every mail after that carries an unsubscribe link
(``unsubscribe_token``, no expiry) that deletes the row.

Nothing a caller sees depends on whether the address already follows the area: the request is
counted, rate-limited and answered the same way.
"""

from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.languages import LANGUAGE_CODES
from core.ratelimit import within_limit
from customers.models import Area, Service
from incidents.models import StatusSubscription
from incidents.signals import status_subscription_requested

CONFIRM_SALT = "incidents.status-subscription.confirm"
UNSUBSCRIBE_SALT = "incidents.status-subscription.unsubscribe"
CONFIRM_MAX_AGE = timedelta(days=7)
# Per address and per network address, per hour.
LIMIT_PER_EMAIL = 3
LIMIT_PER_IP = 20


class RateLimited(DomainError):
    """Too many subscription requests from this address or network address."""


def confirm_token(subscription_id: int) -> str:
    return signing.dumps(subscription_id, salt=CONFIRM_SALT)


def unsubscribe_token(subscription_id: int) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(subscription_id))


def _id_from_confirm(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def _id_from_unsubscribe(token: str) -> int | None:
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def status_subscribe(
    *, email: str, area: Area, service: Service | None, language: str, ip: str | None
) -> StatusSubscription:
    """Ask to follow ``area`` (and ``service``, or all) by e-mail. Rate-limited per address and per
    network address (``RateLimited``). An unconfirmed wish gets a confirmation mail (a new one per
    request); a confirmed one gets nothing — the caller is answered the same either way."""
    email = email.strip().lower()
    if not within_limit("status-sub-email", email, limit=LIMIT_PER_EMAIL, window=3600) or not within_limit(
        "status-sub-ip", ip or "-", limit=LIMIT_PER_IP, window=3600
    ):
        raise RateLimited(_("Too many requests. Please try again in an hour."), field="email")
    language = language if language in LANGUAGE_CODES else "sv"
    with transaction.atomic():
        try:
            with transaction.atomic():
                subscription, _created = StatusSubscription.objects.get_or_create(
                    email=email, area=area, service=service, defaults={"language": language}
                )
        except IntegrityError:  # the same wish, sent twice at once
            subscription = StatusSubscription.objects.get(email=email, area=area, service=service)
        if subscription.confirmed_at is None:
            subscription.requested_at = timezone.now()
            subscription.language = language
            subscription.save(update_fields=["requested_at", "language"])
            status_subscription_requested.send(sender=StatusSubscription, subscription=subscription)
    return subscription


def status_subscription_confirm(*, token: str) -> StatusSubscription | None:
    """Confirm by the e-mailed link: idempotent. None for a bad, expired or unsubscribed link."""
    subscription_id = _id_from_confirm(token)
    if subscription_id is None:
        return None
    StatusSubscription.objects.filter(pk=subscription_id, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now()
    )
    return StatusSubscription.objects.select_related("area", "service").filter(pk=subscription_id).first()


def status_subscription_peek(*, token: str, purpose: str) -> StatusSubscription | None:
    """The subscription a confirm or unsubscribe link names, for the page that asks "are you sure?"."""
    subscription_id = _id_from_confirm(token) if purpose == "confirm" else _id_from_unsubscribe(token)
    if subscription_id is None:
        return None
    return StatusSubscription.objects.select_related("area", "service").filter(pk=subscription_id).first()


def status_unsubscribe(*, token: str) -> bool:
    """One-click unsubscribe (RFC 8058, or the page's button): the row is deleted. False for a bad
    token; True also when it was already gone."""
    subscription_id = _id_from_unsubscribe(token)
    if subscription_id is None:
        return False
    StatusSubscription.objects.filter(pk=subscription_id).delete()
    return True
