"""SMTP PIPELINING (notifications/sending.py) against a real local SMTP server: the same mail, the
same refusals and the same retries whether the server offers pipelining or not."""

from __future__ import annotations

import smtplib

import pytest
from django.utils import timezone

from notifications import outbox, sending
from notifications.models import Notification
from tests import factories
from tests.notifications.conftest import text_and_html
from tickets.models import Ticket
from tickets.services import ticket_comment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# In claim order: refusals in the middle of a chunk, accepted mail on both sides of them.
ADDRESSES = [
    "a0@example.com",
    "bounce1@example.com",
    "a2@example.com",
    "later3@example.com",
    "a4@example.com",
]


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-command-at-a-time"])
def test_refusals_mid_chunk_fail_or_wait_and_every_other_message_arrives_once(
    smtp, ops, pipelining, django_capture_on_commit_callbacks
):
    smtp.pipelining = pipelining
    with smtplib.SMTP("127.0.0.1", smtp.port) as probe:
        assert sending.pipelining(probe) is pipelining
    for address in ADDRESSES:
        factories.SubscriptionFactory(customer__email=address)
    with django_capture_on_commit_callbacks(execute=True):
        factories.declare_incident(actor=ops, services=[], areas=[], affects_everyone=True)

    assert sorted(m["To"] for m in smtp.messages) == ["a0@example.com", "a2@example.com", "a4@example.com"]
    rows = {r.to_email: r for r in Notification.objects.all()}
    assert {a: rows[a].state for a in ADDRESSES} == {
        "a0@example.com": "sent",
        "bounce1@example.com": "failed",
        "a2@example.com": "sent",
        "later3@example.com": "pending",
        "a4@example.com": "sent",
    }
    assert "550" in rows["bounce1@example.com"].last_error
    assert "451" in rows["later3@example.com"].last_error
    assert rows["later3@example.com"].next_attempt_at > timezone.now()
    # Each accepted message is whole: the server did not read one message's envelope into another.
    assert len({m["Message-ID"] for m in smtp.messages}) == 3
    assert outbox.outbox_deliver().claimed == 0  # nothing left due, nothing sent twice


def test_lines_starting_with_a_dot_arrive_intact(smtp, agent, django_capture_on_commit_callbacks):
    """Dot-stuffing (RFC 5321 4.5.2): a line that is a lone "." must not end the message early."""
    customer = factories.SubscriptionFactory(
        customer__email="r@example.com", customer__language="en"
    ).customer
    ticket = factories.open_ticket(customer=customer, actor=agent, channel=Ticket.Channel.PHONE)
    body = "Try this:\n.\n..two dots\n.hidden file"
    with django_capture_on_commit_callbacks(execute=True):
        ticket_comment(ticket=ticket, actor=agent, body=body, public=True)
    [message] = smtp.to("r@example.com")
    text, _html = text_and_html(message)
    assert "Try this:\n.\n..two dots\n.hidden file\n" in text.replace("\r\n", "\n")
