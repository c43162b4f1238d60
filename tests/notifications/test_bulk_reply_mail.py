"""A bulk reply with a canned reply is mailed to each customer as a single reply is: their language,
threaded on their ticket, once — written in one statement, and writing or delivering again sends
nothing twice."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import outbox
from notifications.models import Notification
from tests import factories
from tests.notifications.conftest import text_and_html
from tickets.models import Macro, Ticket, TicketEvent
from tickets.services import ticket_comment, tickets_bulk_reply

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def phone_ticket(lang: str, agent) -> Ticket:
    customer = factories.SubscriptionFactory(
        customer__language=lang, customer__email=f"{lang}@example.com", customer__name=f"Kund {lang}"
    ).customer
    return factories.open_ticket(customer=customer, actor=agent, channel=Ticket.Channel.PHONE)


def test_each_customer_gets_the_canned_reply_in_their_language_threaded_like_a_single_reply(
    smtp, agent, django_capture_on_commit_callbacks
):
    tickets = {lang: phone_ticket(lang, agent) for lang in ("sv", "fi")}
    single = phone_ticket("en", agent)
    macro = Macro.objects.create(
        name="Restart",
        texts={"sv": "Hej {customer_name}, starta om <routern>.", "fi": "Hei {customer_name}."},
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket_comment(ticket=single, actor=agent, body="Hello, restart the router.", public=True)
        with CaptureQueriesContext(connection) as captured:
            assert (
                tickets_bulk_reply(ticket_ids=[t.pk for t in tickets.values()], macro=macro, actor=agent) == 2
            )

    inserts = [q["sql"] for q in captured if q["sql"].startswith('INSERT INTO "notifications_notification"')]
    assert len(inserts) == 1, "the customers' e-mails are queued in one statement"
    [one] = smtp.to("en@example.com")
    sv_message, fi_message = smtp.to("sv@example.com")[0], smtp.to("fi@example.com")[0]
    sv_text, sv_html = text_and_html(sv_message)
    assert "Hej Kund sv, starta om <routern>." in sv_text and "starta om &lt;routern&gt;." in sv_html
    assert "Hei Kund fi." in text_and_html(fi_message)[0]
    for lang, message in (("sv", sv_message), ("fi", fi_message)):
        ticket = tickets[lang]
        reply = ticket.events.get(kind=TicketEvent.Kind.REPLY)
        # Threaded on the ticket exactly as the single reply is on its own.
        assert message["In-Reply-To"] == message["References"] == f"<ticket.t{ticket.pk}@supportdesk.example>"
        assert one["In-Reply-To"] == f"<ticket.t{single.pk}@supportdesk.example>"
        key = f"ticket-reply.e{reply.pk}.c{ticket.customer_id}"
        assert message["Message-ID"] == f"<{key}@supportdesk.example>"
        assert ticket.reference in message["Subject"]
        assert ticket.events.filter(kind=TicketEvent.Kind.NOTIFICATION, data__state="sent").exists()

    # The same replies queued again, or delivered again: nothing goes out twice.
    replies = TicketEvent.objects.filter(ticket__in=tickets.values(), kind=TicketEvent.Kind.REPLY)
    assert outbox.outbox_ticket_replies(event_ids=list(replies.values_list("pk", flat=True))) == 0
    assert outbox.outbox_deliver().claimed == 0
    assert len(smtp.messages) == 3
    assert Notification.objects.filter(kind=Notification.Kind.TICKET_REPLY).count() == 3
