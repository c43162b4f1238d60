"""The signed-out contact form (story 6 of DESIGN.md): written intake without an account.

A visitor gives the e-mail address we have on file and their customer number or phone number, and
writes. ``contact_request`` keeps what they wrote as a ``ContactRequest`` only when the address and
the number belong to the same customer, and announces it (``tickets.signals.contact_requested``);
notifications mails a confirmation link to that address through the outbox. ``contact_confirm``
(the link's button) opens the ticket through ``ticket_open`` — matching runs, and the usual
"we got your ticket, SD-n" mail goes out — once, however often the link is used.

Abuse protection, no CAPTCHA service: a honeypot field (``tickets.views``), a rate limit per address
and per network address, and the double opt-in itself: nothing reaches an agent until the owner of
the address on file says so, and nobody can learn from the answer whether an address or number is
ours (the page says the same either way).
"""

from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.ratelimit import within_limit
from customers.models import Customer, Service
from customers.phones import phone_candidates
from tickets import services
from tickets.models import ContactRequest, Ticket
from tickets.signals import contact_requested

SALT = "tickets.contact-request"
MAX_AGE = timedelta(hours=24)
LIMIT_PER_EMAIL = 3  # per hour
LIMIT_PER_IP = 10  # per hour


class RateLimited(DomainError):
    """Too many contact requests from this address or network address."""


def contact_token(request_id: int) -> str:
    return signing.dumps(request_id, salt=SALT)


def request_id_from_token(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def _customer_for(*, email: str, number_or_phone: str) -> Customer | None:
    """The customer whose e-mail is ``email`` and whose customer number or a phone is the other."""
    value = number_or_phone.strip()
    same = Q(number=value) if value.isascii() and value.isdigit() else Q(pk__in=[])
    if candidates := phone_candidates(value):
        same |= Q(phones__number__in=candidates)
    return Customer.objects.filter(same, email__iexact=email.strip()).order_by("number").first()


def contact_request(
    *,
    email: str,
    number_or_phone: str,
    category: str,
    service: Service | None,
    subject: str,
    description: str,
    ip: str | None,
) -> ContactRequest | None:
    """Keep what a signed-out visitor wrote and ask them to confirm by e-mail. Counted against the
    address and the network address first (``RateLimited``). Returns the request, or None when the
    details do not match a customer (the caller answers the same either way)."""
    if not within_limit("contact-email", email.strip().lower(), limit=LIMIT_PER_EMAIL, window=3600):
        raise RateLimited(_("You have written several times in a short while. Please wait an hour."))
    if not within_limit("contact-ip", ip or "-", limit=LIMIT_PER_IP, window=3600):
        raise RateLimited(_("You have written several times in a short while. Please wait an hour."))
    customer = _customer_for(email=email, number_or_phone=number_or_phone)
    if customer is None:
        return None
    with transaction.atomic():
        request = ContactRequest.objects.create(
            customer=customer,
            email=customer.email,
            category=category,
            service=service,
            subject=subject,
            description=description,
        )
        contact_requested.send(sender=ContactRequest, request=request)
    return request


def contact_confirm(*, token: str) -> Ticket | None:
    """Open the ticket a confirmed request holds, once: the first call claims the request with a
    conditional UPDATE and opens the ticket in the same transaction; later calls return that ticket.
    None for a forged or expired link."""
    request_id = request_id_from_token(token)
    if request_id is None:
        return None
    with transaction.atomic():
        claimed = ContactRequest.objects.filter(pk=request_id, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now()
        )
        request = ContactRequest.objects.select_related("customer", "ticket").filter(pk=request_id).first()
        if request is None:
            return None
        if not claimed:
            return request.ticket
        subscription = (
            request.customer.subscriptions.filter(active=True, service=request.service).first()
            if request.service_id
            else None
        )
        ticket = services.ticket_open(
            customer=request.customer,
            actor=None,
            channel=Ticket.Channel.WEB,
            category=request.category,
            subject=request.subject,
            description=request.description,
            subscription=subscription,
            service=request.service if subscription is None else None,
        )
        ContactRequest.objects.filter(pk=request.pk).update(ticket=ticket)
    return ticket
