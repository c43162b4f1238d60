"""Signing in by a one-time e-mailed link, for customers (story 1 of DESIGN.md).

``sign_in_link_request`` writes a ``SignInLink`` row for every customer whose e-mail on file matches
and announces it (``customers.signals.sign_in_link_requested``); the notifications app mails it through
the outbox. The link carries ``sign_in_token(link)``: the row's id, signed with SECRET_KEY. The row
makes the link expire (``SIGN_IN_LINK_MAX_AGE``) and work once (``sign_in_link_use``).

Nothing a caller sees depends on whether the address exists: the request is counted, rate-limited
and answered the same way either way.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import roles
from core.errors import DomainError
from core.ratelimit import within_limit
from customers.models import Customer, SignInLink
from customers.signals import sign_in_link_requested

log = logging.getLogger(__name__)

SALT = "customers.sign-in-link"
# At most this many customers share one address (a family on one e-mail): more is not mailed.
MAX_CUSTOMERS_PER_ADDRESS = 5


class RateLimited(DomainError):
    """Too many sign-in links asked for, from this address or this network address."""


def max_age() -> timedelta:
    return timedelta(seconds=settings.SIGN_IN_LINK_MAX_AGE)


def sign_in_token(link: SignInLink) -> str:
    return signing.dumps(link.pk, salt=SALT)


def link_id_from_token(token: str) -> int | None:
    """The link id a token names, or None if it is not ours (forged, cut short) or plainly too old."""
    try:
        value = signing.loads(token, salt=SALT, max_age=max_age())
    except signing.BadSignature:  # SignatureExpired is a subclass
        return None
    return value if isinstance(value, int) else None


def sign_in_link_request(*, email: str, ip: str | None) -> int:
    """Ask for a sign-in link to be mailed to ``email``.

    Guarantees: counted against the address and the network address before anything is looked up
    (``RateLimited`` when either is over its limit, whether or not the address is ours); one link and
    one outbox mail per matching customer, written in one transaction. Returns how many links were
    written — for tests and logs only; callers must not show it.
    """
    email = (email or "").strip()
    window = settings.SIGN_IN_RATE_WINDOW
    per_address = within_limit(
        "signin-email", email.lower(), limit=settings.SIGN_IN_RATE_PER_ADDRESS, window=window
    )
    per_ip = within_limit("signin-ip", ip or "unknown", limit=settings.SIGN_IN_RATE_PER_IP, window=window)
    if not (per_address and per_ip):
        raise RateLimited("too many sign-in links asked for; try again later")
    if not email:
        return 0
    customers = list(Customer.objects.filter(email__iexact=email).order_by("pk")[:MAX_CUSTOMERS_PER_ADDRESS])
    with transaction.atomic():
        for customer in customers:
            link = SignInLink.objects.create(customer=customer)
            sign_in_link_requested.send(sender=SignInLink, link=link)
    return len(customers)


def sign_in_link_use(*, token: str):
    """Spend a sign-in link and return the User to log in, or None if the link is forged, expired or
    used. Guarantees: a link works at most once, even when opened twice at the same moment (one
    conditional UPDATE); spending it also spends the customer's other outstanding links; a customer
    without a login gets one (username = customer number, no usable password, the customer role)."""
    link_id = link_id_from_token(token)
    if link_id is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        spent = SignInLink.objects.filter(
            pk=link_id, used_at__isnull=True, created_at__gt=now - max_age()
        ).update(used_at=now)
        if spent != 1:
            return None
        # Locked: two links of one login-less customer spent at once must not make two logins.
        customer = Customer.objects.select_for_update(of=("self",)).get(sign_in_links__pk=link_id)
        SignInLink.objects.filter(customer=customer, used_at__isnull=True).update(used_at=now)
        user = customer.user or _login_for(customer)
    # Staff sign in with a password (and whatever else guards them): a mailbox is not enough.
    if not user.is_active or user.is_staff or user.is_superuser or roles.is_staff_member(user):
        return None
    return user


def _login_for(customer: Customer):
    """A login for a customer who never had one: named by the customer number (unique), a suffix if
    someone already holds that username."""
    User = get_user_model()
    base = customer.number
    for attempt in range(10):
        username = base if attempt == 0 else f"{base}-{attempt}"
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    username=username, email=customer.email, first_name=customer.name[:150]
                )
        except IntegrityError:
            continue
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=roles.CUSTOMER)[0])
        customer.user = user
        customer.save(update_fields=["user"])
        log.info("created login %s for customer %s on first sign-in by link", username, customer.pk)
        return user
    raise DomainError("could not find a free username for this customer")
