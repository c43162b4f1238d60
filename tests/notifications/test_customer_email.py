"""Customer e-mail through the outbox, sent over a real SMTP connection to a local server: what
arrives, in which language, with which headers, to whom — and what does not."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import CompensationPolicy
from incidents.services import incident_post_update, incident_resolve
from notifications import outbox, rendering
from notifications.models import Notification
from tests import factories
from tests.notifications.conftest import text_and_html
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_comment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ETA = datetime(2026, 12, 1, 13, 30, tzinfo=dt_timezone.utc)  # 14:30 in Stockholm, 15:30 in Helsinki


@pytest.fixture
def outage(ops, django_capture_on_commit_callbacks):
    """Declare a broadband outage in Stockholm covering three customers (sv, fi, en), one opted out."""
    area = factories.AreaFactory(code="se-ab-0180", name="Stockholm city")
    service = factories.ServiceFactory(code="broadband")
    customers = {}
    for lang in ("sv", "fi", "en"):
        customers[lang] = factories.SubscriptionFactory(
            service=service, area=area, customer__language=lang, customer__email=f"{lang}@example.com"
        ).customer
    customers["en"].name = "Ann <O'Neil> & Co"  # filled into a notice rendered once for many
    customers["en"].save()
    customers["fi"].name = "Päivi Ääkkönen"
    customers["fi"].save()
    quiet = factories.SubscriptionFactory(service=service, area=area, customer__email="quiet@example.com")
    quiet.customer.proactive_email = False
    quiet.customer.save()
    elsewhere = factories.SubscriptionFactory(customer__email="elsewhere@example.com")  # another area

    def declare(**fields):
        with django_capture_on_commit_callbacks(execute=True):
            return factories.declare_incident(
                actor=ops,
                services=[service],
                areas=[area],
                eta=fields.pop("eta", ETA),
                public_message={"sv": "Fiber nere i <Stockholm>", "fi": "Kuitu poikki", "en": "Fibre down"},
                workaround={"en": "Use mobile data\nRestart nothing"},
                **fields,
            ).incident

    return {"declare": declare, "customers": customers, "elsewhere": elsewhere.customer}


def test_a_web_ticket_gets_a_confirmation_with_its_reference_in_the_customers_language(
    smtp, django_capture_on_commit_callbacks
):
    customer = factories.SubscriptionFactory(
        customer__language="fi", customer__email="f@example.com"
    ).customer
    with django_capture_on_commit_callbacks(execute=True):
        ticket = factories.open_ticket(customer=customer, subject="Netti <b>poikki</b>")
    [message] = smtp.to("f@example.com")
    text, html = text_and_html(message)
    assert ticket.reference in message["Subject"]
    assert ticket.reference in text and ticket.reference in html
    assert "Hei" in text  # Finnish, not the site's language
    assert "Netti <b>poikki</b>" in text
    assert "Netti &lt;b&gt;poikki&lt;/b&gt;" in html  # the customer's words are escaped in HTML
    row = Notification.objects.get(ticket=ticket)
    assert message["Message-ID"] == row.message_id
    assert message["In-Reply-To"] == message["References"] == f"<ticket.t{ticket.pk}@supportdesk.example>"
    assert "List-Unsubscribe" not in message  # about their own ticket: not proactive


def test_a_phone_ticket_is_confirmed_only_when_the_agent_asks(
    smtp, agent, django_capture_on_commit_callbacks
):
    customer = factories.SubscriptionFactory(customer__email="p@example.com").customer
    with django_capture_on_commit_callbacks(execute=True):
        factories.open_ticket(customer=customer, actor=agent, channel=Ticket.Channel.PHONE)
    assert smtp.to("p@example.com") == []
    with django_capture_on_commit_callbacks(execute=True):
        factories.open_ticket(
            customer=customer, actor=agent, channel=Ticket.Channel.PHONE, notify_customer=True
        )
    assert len(smtp.to("p@example.com")) == 1


def test_an_agents_public_reply_is_mailed_escaped_and_shows_as_sent_on_the_timeline(
    smtp, agent, django_capture_on_commit_callbacks
):
    customer = factories.SubscriptionFactory(
        customer__email="r@example.com", customer__language="en"
    ).customer
    ticket = factories.open_ticket(customer=customer, actor=agent, channel=Ticket.Channel.PHONE)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_comment(ticket=ticket, actor=agent, body="Internal: check the DSLAM", public=False)
        ticket_comment(ticket=ticket, actor=agent, body="Restart the <router> & wait", public=True)
    [message] = smtp.to("r@example.com")
    text, html = text_and_html(message)
    assert "Anna answered" in text and "Restart the <router> & wait" in text
    assert "Restart the &lt;router&gt; &amp; wait" in html
    assert "DSLAM" not in text
    assert message["In-Reply-To"] == f"<ticket.t{ticket.pk}@supportdesk.example>"
    sent = ticket.events.filter(kind=TicketEvent.Kind.NOTIFICATION).get()
    assert sent.data["state"] == "sent" and sent.data["to"] == "r@example.com"


def test_an_outage_tells_every_affected_customer_once_in_their_language_and_time_zone(smtp, outage):
    incident = outage["declare"]()
    assert sorted(m["To"] for m in smtp.messages) == ["en@example.com", "fi@example.com", "sv@example.com"]
    sv_text, sv_html = text_and_html(smtp.to("sv@example.com")[0])
    fi_text, _ = text_and_html(smtp.to("fi@example.com")[0])
    en = smtp.to("en@example.com")[0]
    en_text, en_html = text_and_html(en)
    assert "Hello Ann <O'Neil> & Co," in en_text and "Hello Ann &lt;O&#x27;Neil&gt; &amp; Co," in en_html
    assert "Fiber nere i <Stockholm>" in sv_text and "Fiber nere i &lt;Stockholm&gt;" in sv_html
    assert "14:30 CET (Europe/Stockholm" in sv_text
    # Finnish as Finns write it: day.month. and "klo" with a dot in the time.
    assert "klo 15.30 EET" in fi_text and "Europe/Helsinki" in fi_text
    assert "Hei Päivi Ääkkönen," in fi_text
    assert "on our side" in en_text and "14:30 CET" in en_text
    assert "1. Use mobile data" in en_text
    # RFC 8058 one-click unsubscribe, threading per customer and incident.
    # (A long header may be folded; unfolded, it is exactly one angle-bracketed https URL.)
    url = re.fullmatch(r"<(https://desk\.example/email/unsubscribe/[^>]+/)>", en["List-Unsubscribe"].strip())
    assert url is not None
    assert en["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    customer = outage["customers"]["en"]
    assert en["References"] == f"<incident.i{incident.pk}.c{customer.pk}@supportdesk.example>"
    assert en["Message-ID"] == f"<incident-affects-you.i{incident.pk}.c{customer.pk}@supportdesk.example>"


def test_nothing_is_sent_to_a_customer_who_opted_out(smtp, outage):
    outage["declare"]()
    assert smtp.to("quiet@example.com") == []
    assert smtp.to("elsewhere@example.com") == []


def test_a_known_issue_tells_nobody_unless_ops_switch_it_on(smtp, outage):
    outage["declare"](kind="known-issue")
    assert smtp.messages == []
    outage["declare"](kind="known-issue", notify_customers=True, title="Firmware bug")
    assert len(smtp.messages) == 3


def test_an_eta_change_sends_one_short_update_and_other_updates_send_nothing(
    smtp, outage, ops, django_capture_on_commit_callbacks
):
    incident = outage["declare"]()
    smtp.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        incident_post_update(incident=incident, actor=ops, message="Still digging", status="identified")
    assert smtp.messages == []
    with django_capture_on_commit_callbacks(execute=True):
        incident_post_update(incident=incident, actor=ops, message="Later", eta=ETA + timedelta(hours=2))
        incident_post_update(incident=incident, actor=ops, message="Same ETA", eta=ETA + timedelta(hours=2))
    assert len(smtp.messages) == 3
    text, _ = text_and_html(smtp.to("sv@example.com")[0])
    assert "16:30 CET" in text


def test_resolving_says_sorry_to_those_told_and_names_no_credit_when_there_is_none(
    smtp, outage, ops, django_capture_on_commit_callbacks
):
    incident = outage["declare"]()
    smtp.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=ops)
    assert len(smtp.messages) == 3
    text, _ = text_and_html(smtp.to("en@example.com")[0])
    assert "sorry" in text and "credit" not in text


def test_resolving_an_outage_names_each_customers_compensation_credit(
    smtp, outage, ops, django_capture_on_commit_callbacks
):
    CompensationPolicy.objects.create(
        service=factories.ServiceFactory(code="broadband"),
        plan="private",
        min_outage_minutes=60,
        amount_per_day=Decimal("50.00"),
        cap=Decimal("200.00"),
        currency="SEK",
    )
    incident = outage["declare"](started_at=timezone.now() - timedelta(days=2, hours=3))
    smtp.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=ops)
    text, html = text_and_html(smtp.to("en@example.com")[0])
    assert "we credit 150.00 SEK" in text  # three started days at 50
    assert "150.00 SEK" in html
    assert "quiet@example.com" not in {m["To"] for m in smtp.messages}


def test_delivering_twice_sends_each_message_once(smtp, outage):
    outage["declare"]()  # delivered on commit
    assert outbox.outbox_deliver().claimed == 0
    assert len(smtp.messages) == 3


def test_with_the_smtp_server_down_mail_waits_and_is_sent_later(smtp, outage):
    smtp.stop()
    outage["declare"]()
    rows = Notification.objects.all()
    assert {r.state for r in rows} == {"pending"}
    assert all(r.next_attempt_at > timezone.now() and r.attempts == 1 for r in rows)
    assert outbox.outbox_deliver().claimed == 0  # backoff: not due yet
    smtp.start()
    Notification.objects.update(next_attempt_at=timezone.now())  # as if the backoff had passed
    result = outbox.outbox_deliver()
    assert result.sent == 3
    assert sorted(m["To"] for m in smtp.messages) == ["en@example.com", "fi@example.com", "sv@example.com"]


def test_a_refused_address_fails_for_good_and_the_ticket_timeline_says_so(
    smtp, django_capture_on_commit_callbacks
):
    customer = factories.SubscriptionFactory(customer__email="bounce@example.com").customer
    with django_capture_on_commit_callbacks(execute=True):
        ticket = factories.open_ticket(customer=customer)
    row = Notification.objects.get(ticket=ticket)
    assert row.state == "failed" and "550" in row.last_error
    failed = ticket.events.get(kind=TicketEvent.Kind.NOTIFICATION)
    assert failed.data["state"] == "failed"


def test_a_temporary_refusal_is_retried_with_backoff(smtp, django_capture_on_commit_callbacks):
    customer = factories.SubscriptionFactory(customer__email="later@example.com").customer
    with django_capture_on_commit_callbacks(execute=True):
        ticket = factories.open_ticket(customer=customer)
    row = Notification.objects.get(ticket=ticket)
    assert row.state == "pending" and "451" in row.last_error
    assert row.next_attempt_at > timezone.now()


def test_one_click_unsubscribe_stops_proactive_mail(client, smtp, outage):
    customer = outage["customers"]["sv"]
    outage["declare"]()
    header = smtp.to("sv@example.com")[0]["List-Unsubscribe"]
    url = re.search(r"<https://desk\.example(/[^>]+)>", header).group(1)
    page = client.get(url)
    assert page.status_code == 200
    customer.refresh_from_db()
    assert customer.proactive_email  # a GET (a link scanner) changes nothing
    assert (
        client.post(
            url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        ).status_code
        == 200
    )
    customer.refresh_from_db()
    assert not customer.proactive_email
    smtp.messages.clear()
    outage["declare"](title="Second outage")
    assert smtp.to("sv@example.com") == []


def test_a_forged_unsubscribe_token_is_refused(client, alice):
    assert client.post(reverse("notifications:unsubscribe", args=[f"{alice.pk}:forged"])).status_code == 404


def test_the_incident_page_counts_the_customers_told(client, smtp, outage, ops):
    incident = outage["declare"]()
    client.force_login(ops)
    response = client.get(reverse("notifications:incident_customers_told", args=[incident.pk]))
    assert "3 of 3 affected customers told" in response.content.decode()


def test_customers_cannot_read_the_customers_told_count(client, alice, smtp, outage):
    incident = outage["declare"]()
    client.force_login(alice.user)
    response = client.get(reverse("notifications:incident_customers_told", args=[incident.pk]))
    assert response.status_code == 403


def test_writing_the_notices_costs_the_same_queries_for_3_or_30_customers(ops, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    service = factories.ServiceFactory(code="broadband")
    incidents = []
    for n in (3, 30):
        area = factories.AreaFactory()
        for _ in range(n):
            factories.SubscriptionFactory(service=service, area=area)
        incidents.append(factories.declare_incident(actor=ops, services=[service], areas=[area]).incident)
    Notification.objects.all().delete()
    with CaptureQueriesContext(connection) as few:
        assert outbox.outbox_incident_notice(incident=incidents[0]) == 3
    with django_assert_num_queries(len(few.captured_queries)):
        assert outbox.outbox_incident_notice(incident=incidents[1]) == 30


def test_incident_notices_are_flattened_once_and_filled_per_customer(outage, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    outage["declare"]()
    rows = list(Notification.objects.select_related("customer", "incident").order_by("id"))
    messages = rendering.render_messages(rows)
    assert all(isinstance(m, rendering.PreparedEmail) for m in messages)
    for row, message in zip(rows, messages, strict=True):
        raw = message.message().as_bytes()
        assert b"slot" not in raw.lower()
        assert row.message_id.encode() in raw and row.to_email.encode() in raw


def test_a_public_update_copied_onto_linked_tickets_is_mailed_to_their_customers_once(
    smtp, ops, django_capture_on_commit_callbacks
):
    service = factories.ServiceFactory(code="email")
    tickets = {}
    for lang in ("sv", "fi"):
        customer = factories.SubscriptionFactory(
            service=service, customer__language=lang, customer__email=f"u-{lang}@example.com"
        ).customer
        tickets[lang] = factories.open_ticket(customer=customer, actor=ops, channel=Ticket.Channel.PHONE)
    mute = factories.SubscriptionFactory(service=service, customer__email="").customer  # no address
    factories.open_ticket(customer=mute, actor=ops, channel=Ticket.Channel.PHONE)
    incident = factories.declare_incident(actor=ops, services=[service], notify_customers=False).incident
    smtp.messages.clear()

    with django_capture_on_commit_callbacks(execute=True):
        update = incident_post_update(
            incident=incident,
            actor=ops,
            message={"sv": "Posten är <snart> tillbaka", "fi": "Posti palaa pian", "en": "Mail back soon"},
            reply_to_tickets=True,
        )

    assert update.replied_tickets == 3
    assert sorted(m["To"] for m in smtp.messages) == ["u-fi@example.com", "u-sv@example.com"]
    sv_text, sv_html = text_and_html(smtp.to("u-sv@example.com")[0])
    assert "Posten är <snart> tillbaka" in sv_text and "Posten är &lt;snart&gt; tillbaka" in sv_html
    assert "Posti palaa pian" in text_and_html(smtp.to("u-fi@example.com")[0])[0]
    message = smtp.to("u-sv@example.com")[0]
    assert message["In-Reply-To"] == f"<ticket.t{tickets['sv'].pk}@supportdesk.example>"
    reply = tickets["sv"].events.get(kind=TicketEvent.Kind.REPLY)
    row = Notification.objects.get(ticket=tickets["sv"], kind=Notification.Kind.TICKET_REPLY)
    assert row.key == f"ticket-reply.e{reply.pk}.c{tickets['sv'].customer_id}"  # as an agent's reply
    assert tickets["sv"].events.filter(kind=TicketEvent.Kind.NOTIFICATION, data__state="sent").exists()

    # The same event again writes nothing twice (one key per event, recipient and kind).
    assert outbox.outbox_incident_update_replies(incident=incident, update=update) == 0
    assert outbox.outbox_deliver().claimed == 0
    assert len(smtp.messages) == 2


def test_the_update_replies_are_queued_in_one_statement(ops):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    service = factories.ServiceFactory(code="email")
    for n in range(5):
        customer = factories.SubscriptionFactory(
            service=service, customer__email=f"m{n}@example.com"
        ).customer
        factories.open_ticket(customer=customer, actor=ops, channel=Ticket.Channel.PHONE)
    incident = factories.declare_incident(actor=ops, services=[service], notify_customers=False).incident
    with CaptureQueriesContext(connection) as captured:
        incident_post_update(incident=incident, actor=ops, message="Mail back soon", reply_to_tickets=True)
    inserts = [q["sql"] for q in captured if q["sql"].startswith('INSERT INTO "notifications_notification"')]
    assert len(inserts) == 1
    assert Notification.objects.filter(kind=Notification.Kind.TICKET_REPLY).count() == 5
