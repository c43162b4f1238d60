"""What a customer e-mail says: multipart (text + HTML) from ``templates/emails/``, in the row's
language, with threading headers on every message and RFC 8058 one-click unsubscribe on proactive ones.

Templates per kind: ``emails/<kind>.subject.txt``, ``emails/<kind>.txt`` (no autoescaping: plain text)
and ``emails/<kind>.html`` (autoescaped: customer and agent text is escaped like on any page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import get_template
from django.urls import reverse
from django.utils import translation
from django.utils.dateparse import parse_datetime
from django.utils.html import escape

from core.times import format_when
from customers.models import SignInLink
from customers.signin import sign_in_token
from incidents import subscriptions
from incidents.compensation import credits_for_customers
from incidents.models import Incident
from notifications.models import Notification
from tickets.contact import MAX_AGE as CONTACT_MAX_AGE
from tickets.contact import contact_token
from tickets.models import TicketEvent

UNSUBSCRIBE_SALT = "notifications.unsubscribe"

# The clock a customer reads an ETA on. Customers have no country; their language is the best proxy
# we hold (Finnish speakers are in Finland, others mostly in Sweden).
ZONE_FOR_LANGUAGE = {"fi": "Europe/Helsinki"}


@dataclass(frozen=True)
class Credit:
    amount: Decimal
    currency: str


def compensation_credits(incident: Incident, customer_ids: list[int]) -> dict[int, Credit]:
    """The compensation credit each customer gets for ``incident``, for the "it's fixed" mail: one
    query for the chunk's customers (``incidents.compensation``, written when the outage was
    resolved). A customer without one gets no mention of credits."""
    found = credits_for_customers(incident=incident, customer_ids=customer_ids)
    return {cid: Credit(amount=c.amount, currency=c.currency) for cid, c in found.items()}


# --- links -------------------------------------------------------------------------------------


def unsubscribe_token(customer_id: int) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(customer_id))


def customer_from_token(token: str) -> int | None:
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# --- time ----------------------------------------------------------------------------------------


def local_time(value: datetime | str | None, language: str) -> dict | None:
    """An ETA as the customer reads it: local time, the zone's abbreviation and its name."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return None
    zone = ZoneInfo(ZONE_FOR_LANGUAGE.get(language, settings.TIME_ZONE))
    local = value.astimezone(zone)
    # The template names the zone (abbreviation and name), so the text leaves it out.
    text = format_when(local, zone=zone, language=language, name_zone=False)
    return {"at": local, "text": text, "abbreviation": local.tzname(), "zone": zone.key}


# --- messages -----------------------------------------------------------------------------------


def _reply_bodies(rows: list[Notification]) -> dict[int, TicketEvent]:
    ids = [r.context.get("event") for r in rows if r.kind == Notification.Kind.TICKET_REPLY]
    if not ids:
        return {}
    return {
        e.pk: e
        for e in TicketEvent.objects.filter(pk__in=ids)
        .select_related("actor")
        .prefetch_related("attachments")
    }


def _credits(rows: list[Notification]) -> dict[tuple[int, int], Credit]:
    by_incident: dict[int, list[int]] = {}
    incidents: dict[int, Incident] = {}
    for r in rows:
        if r.kind == Notification.Kind.INCIDENT_RESOLVED and r.incident_id:
            by_incident.setdefault(r.incident_id, []).append(r.customer_id)
            incidents[r.incident_id] = r.incident
    credits = {}
    for incident_id, customer_ids in by_incident.items():
        for customer_id, credit in compensation_credits(incidents[incident_id], customer_ids).items():
            credits[(incident_id, customer_id)] = credit
    return credits


@dataclass(frozen=True)
class Links:
    """URLs reversed once per chunk (``reverse`` costs more than rendering a short template)."""

    status_url: str
    unsubscribe_pattern: str  # with TOKEN_SLOT where the customer's token goes

    @classmethod
    def build(cls) -> Links:
        return cls(
            status_url=absolute(reverse("status")),
            unsubscribe_pattern=absolute(reverse("notifications:unsubscribe", args=[TOKEN_SLOT])),
        )

    def unsubscribe_url(self, customer_id: int) -> str:
        return self.unsubscribe_pattern.replace(TOKEN_SLOT, unsubscribe_token(customer_id))


# Incident notices are the same for every customer of one incident, kind, language (and ETA told)
# but for the name and the unsubscribe link: rendered once per chunk with these slots, then filled.
# Letters only, so neither template escaping nor URL quoting changes them.
NAME_SLOT = "SDslotNAMEq7"
UNSUBSCRIBE_SLOT = "SDslotUNSUBq7"
TOKEN_SLOT = "SDslotTOKENq7"


@dataclass(frozen=True)
class _Slot:
    name: str = NAME_SLOT


def context_for(row: Notification, *, events: dict, credits: dict, links: Links, customer=None) -> dict:
    """What the templates of ``row.kind`` read. Call with ``row.language`` active."""
    context = {
        "customer": customer or row.customer,
        "site_url": settings.SITE_URL.rstrip("/"),
        "status_url": links.status_url,
    }
    if row.ticket_id:
        context["ticket"] = row.ticket
    if row.kind == Notification.Kind.TICKET_REPLY:
        event = events.get(row.context.get("event"))
        context["reply"] = event.body if event else ""
        actor = event.actor if event else None
        context["agent"] = (actor.first_name or actor.get_username()) if actor else ""
        # Files are not sent by e-mail (size, and who else reads the mailbox): named, and where to see them.
        context["files"] = [a.filename for a in event.attachments.all()] if event else []
        if context["files"] and row.ticket_id:
            context["ticket_url"] = absolute(reverse("tickets:my_ticket", args=[row.ticket.reference]))
    if row.kind == Notification.Kind.SIGN_IN_LINK:
        # The token is signed now, from the link's id: no sign-in secret sits in the outbox row.
        token = sign_in_token(SignInLink(pk=row.context.get("link")))
        context["sign_in_url"] = absolute(reverse("customers:sign_in_by_link", args=[token]))
        context["link_minutes"] = settings.SIGN_IN_LINK_MAX_AGE // 60
    if row.kind == Notification.Kind.CONTACT_CONFIRM:
        token = contact_token(row.context.get("request"))
        context["confirm_url"] = absolute(reverse("tickets:contact_confirm", args=[token]))
        context["subject"] = row.context.get("subject", "")
        context["confirm_hours"] = int(CONTACT_MAX_AGE.total_seconds() // 3600)
    if row.status_subscription_id:
        subscription = row.status_subscription
        context["place"] = subscription.area.name_in(row.language)
        context["status_url"] = absolute(f"{reverse('status')}?q={subscription.area.code}")
        if row.kind == Notification.Kind.STATUS_CONFIRM:
            token = subscriptions.confirm_token(subscription.pk)
            context["confirm_url"] = absolute(reverse("status-subscribe-confirm", args=[token]))
            context["confirm_days"] = subscriptions.CONFIRM_MAX_AGE.days
        else:
            context["event"] = row.context.get("event")
            context["unsubscribe_url"] = status_unsubscribe_url(row)
    if row.incident_id:
        incident = row.incident
        context.update(
            incident=incident,
            public_message=incident.public_message_in(row.language),
            workaround=[s for s in incident.workaround_in(row.language).splitlines() if s.strip()],
            eta=local_time(row.context.get("eta"), row.language),
            credit=credits.get((row.incident_id, row.customer_id)),
        )
    if row.kind in Notification.PROACTIVE_KINDS:
        context["unsubscribe_url"] = UNSUBSCRIBE_SLOT if customer else links.unsubscribe_url(row.customer_id)
    return context


def status_unsubscribe_url(row: Notification) -> str:
    token = subscriptions.unsubscribe_token(row.status_subscription_id)
    return absolute(reverse("status-unsubscribe", args=[token]))


def headers_for(row: Notification, unsubscribe: str | None) -> dict:
    """Message-ID (stored on the row), and In-Reply-To/References naming the thread, on every message;
    one-click unsubscribe (RFC 8058) on proactive ones."""
    from notifications.outbox import incident_thread_id, ticket_thread_id

    if row.ticket_id:
        thread = ticket_thread_id(row.ticket_id)
    elif row.incident_id and row.status_subscription_id:
        thread = f"<incident.i{row.incident_id}.s{row.status_subscription_id}@{settings.NOTIFICATION_MESSAGE_ID_DOMAIN}>"
    elif row.incident_id:
        thread = incident_thread_id(row.incident_id, row.customer_id)
    else:
        thread = row.message_id
    headers = {"Message-ID": row.message_id, "In-Reply-To": thread, "References": thread}
    if unsubscribe:
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if row.kind in Notification.PROACTIVE_KINDS or row.kind == Notification.Kind.STATUS_NOTICE:
        headers["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies stay away
    return headers


def _render(row: Notification, context: dict) -> tuple[str, str, str]:
    with translation.override(row.language):
        subject = " ".join(get_template(f"emails/{row.kind}.subject.txt").render(context).split())
        text = get_template(f"emails/{row.kind}.txt").render(context)
        html = get_template(f"emails/{row.kind}.html").render(context)
    return subject, text, html


def _message(
    row: Notification, parts: tuple[str, str, str], unsubscribe: str | None
) -> EmailMultiAlternatives:
    subject, text, html = parts
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to_email],
        headers=headers_for(row, unsubscribe),
    )
    message.attach_alternative(html, "text/html")
    return message


# Slots in the flattened MIME bytes of a shared notice (letters and digits: no encoding touches them).
HTML_NAME_SLOT = "SDslotHNAMEq7"
TO_SLOT = "sdslottoq7@slot.invalid"
MESSAGE_ID_SLOT = "<SDslotMIDq7@slot.invalid>"
THREAD_SLOT = "<SDslotTHREADq7@slot.invalid>"


class PreparedEmail(EmailMultiAlternatives):
    """A message whose MIME bytes were made by filling a shared, already flattened notice. Django's
    SMTP backend sends ``message().as_bytes()``; everything else (envelope, recipients) is as usual."""

    def __init__(self, *, raw: bytes, **kwargs) -> None:
        super().__init__(**kwargs)
        self.raw = raw

    def message(self, *args, **kwargs):
        return _Flattened(self.raw)


class _Flattened:
    """The finished MIME bytes, standing in for the ``email.message.Message`` that Django's backends
    ask ``message()`` for: SMTP sends ``as_bytes()``; the console and file backends also print it
    (``as_string``, ``get_charset``)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def as_bytes(self, *args, **kwargs) -> bytes:
        return self.raw

    def as_string(self, *args, **kwargs) -> str:
        return self.raw.decode("utf-8", "replace")

    def get_charset(self) -> None:
        return None  # the headers say it per part; the bytes are 7-bit transfer-encoded


def _flattened_template(row: Notification, parts: tuple[str, str, str]) -> bytes | None:
    """The notice as MIME bytes with slots for everything per customer, or None when a slot did not
    survive flattening intact (a body the encoder chose to quote): then each message is built whole."""
    subject, text, html = parts
    if NAME_SLOT in subject:
        return None
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[TO_SLOT],
        headers={
            "Message-ID": MESSAGE_ID_SLOT,
            "In-Reply-To": THREAD_SLOT,
            "References": THREAD_SLOT,
            "List-Unsubscribe": f"<{UNSUBSCRIBE_SLOT}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html.replace(NAME_SLOT, HTML_NAME_SLOT), "text/html")
    raw = message.message().as_bytes(linesep="\r\n")
    wanted = {NAME_SLOT: text.count(NAME_SLOT), HTML_NAME_SLOT: html.count(NAME_SLOT)}
    wanted |= {TO_SLOT: 1, MESSAGE_ID_SLOT: 1, THREAD_SLOT: 2}
    wanted[UNSUBSCRIBE_SLOT] = 1 + text.count(UNSUBSCRIBE_SLOT) + html.count(UNSUBSCRIBE_SLOT)
    if any(raw.count(slot.encode()) != n for slot, n in wanted.items()):
        return None
    return raw


def _fill(raw: bytes, row: Notification, name: str, url: str) -> bytes:
    thread = headers_for(row, None)["References"]
    for slot, value in (
        (TO_SLOT, row.to_email),
        (MESSAGE_ID_SLOT, row.message_id),
        (THREAD_SLOT, thread),
        (HTML_NAME_SLOT, escape(name)),
        (NAME_SLOT, name),
        (UNSUBSCRIBE_SLOT, escape(url)),
    ):
        raw = raw.replace(slot.encode(), value.encode())
    return raw


def render_messages(rows: list[Notification]) -> list[EmailMultiAlternatives]:
    """One message per row, in order. Reads replies and credits once for the chunk. An incident
    notice is rendered and flattened to MIME once per (kind, incident, language, context, credit);
    each customer's copy fills in address, name, link and ids (the MIME generator would otherwise
    cost more than everything else per message: bench/README.md, "Outbox")."""
    events, credits, links = _reply_bodies(rows), _credits(rows), Links.build()
    shared: dict[tuple, tuple[tuple[str, str, str], bytes | None]] = {}
    messages: list[EmailMultiAlternatives] = []
    for row in rows:
        if row.kind not in Notification.PROACTIVE_KINDS:
            context = context_for(row, events=events, credits=credits, links=links)
            unsubscribe = (
                context.get("unsubscribe_url") if row.kind == Notification.Kind.STATUS_NOTICE else None
            )
            messages.append(_message(row, _render(row, context), unsubscribe))
            continue
        credit = credits.get((row.incident_id, row.customer_id))
        key = (row.kind, row.incident_id, row.language, repr(sorted(row.context.items())), credit)
        if key not in shared:
            context = context_for(row, events=events, credits=credits, links=links, customer=_Slot())
            parts = _render(row, context)
            shared[key] = (parts, _flattened_template(row, parts))
        (subject, text, html), raw = shared[key]
        name, url = row.customer.name, links.unsubscribe_url(row.customer_id)
        if raw is not None and row.to_email.isascii() and "\n" not in name and "\r" not in name:
            filled = _fill(raw, row, name, url)
            messages.append(
                PreparedEmail(
                    raw=filled,
                    subject=subject,
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    to=[row.to_email],
                )
            )
            continue
        parts = (
            subject.replace(NAME_SLOT, name),
            text.replace(NAME_SLOT, name).replace(UNSUBSCRIBE_SLOT, url),
            html.replace(NAME_SLOT, escape(name)).replace(UNSUBSCRIBE_SLOT, escape(url)),
        )
        messages.append(_message(row, parts, url))
    return messages
