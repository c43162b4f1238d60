"""The agent's queue and ticket page: fast, complete, and every action lands on the timeline."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.core]


def _queue_queries(client, django_assert_max_num_queries, n):
    # Session, user, groups (roles) + one query for the page + the saved views (tabs) + the bulk
    # bar's incidents and canned replies; measured, then pinned below.
    with django_assert_max_num_queries(11) as captured:
        response = client.get(reverse("tickets:queue"))
    assert response.status_code == 200
    return len(captured.captured_queries), response


def test_the_queue_costs_the_same_queries_for_3_or_60_tickets(client, agent, django_assert_max_num_queries):
    client.force_login(agent)
    for _ in range(3):
        factories.open_ticket()
    few, _ = _queue_queries(client, django_assert_max_num_queries, 3)
    for _ in range(57):
        factories.open_ticket()
    many, response = _queue_queries(client, django_assert_max_num_queries, 60)
    assert few == many
    assert response.content.decode().count('href="/desk/tickets/SD-') == 2 * 50  # one page, two links a row


def test_the_queue_pages_in_sla_order_by_keyset_without_gaps_or_repeats(client, agent):
    client.force_login(agent)
    now = timezone.now()
    tickets = [factories.open_ticket() for _ in range(55)]
    # Due times out of id order, with ties across the page boundary (ids break them).
    for i, t in enumerate(tickets):
        Ticket.objects.filter(pk=t.pk).update(sla_due_at=now + timedelta(hours=(i * 7) % 11))
    expected = list(Ticket.objects.order_by("sla_due_at", "pk").values_list("pk", flat=True))

    def shown(url):
        html = client.get(url).content.decode()
        refs = re.findall(r">SD-(\d+)</a>", html)
        nxt = re.search(r'class="button" href="([^"]+)"', html)
        return [int(r) for r in refs], (nxt.group(1).replace("&amp;", "&") if nxt else None)

    first, nxt = shown(reverse("tickets:queue"))
    assert first == expected[:50]
    second, last = shown(reverse("tickets:queue") + nxt)
    assert second == expected[50:]
    assert last is None


def test_the_queue_puts_the_soonest_due_first_and_marks_breaches(client, agent):
    client.force_login(agent)
    later = factories.open_ticket(subject="Due tomorrow")
    breached = factories.open_ticket(subject="Waited 2.5 days", priority=Ticket.Priority.URGENT)
    Ticket.objects.filter(pk=later.pk).update(sla_due_at=timezone.now() + timedelta(days=1))
    Ticket.objects.filter(pk=breached.pk).update(sla_due_at=timezone.now() - timedelta(days=2))
    html = client.get(reverse("tickets:queue")).content.decode()
    assert html.index("Waited 2.5 days") < html.index("Due tomorrow")
    assert html.count('class="sla-breached"') == 1
    assert "Urgent" in html and "Age" in html and "Assignee" in html
    oldest = client.get(reverse("tickets:queue") + "?order=age").content.decode()
    assert oldest.index("Due tomorrow") < oldest.index("Waited 2.5 days")


def test_the_queue_filters_narrow_by_status_category_service_area_unassigned_and_mine(client, agent, tech):
    from tests.factories import AreaFactory, ServiceFactory, SubscriptionFactory

    client.force_login(agent)
    fibre, north = ServiceFactory(code="fibre-x", name="Fibre X"), AreaFactory(code="north-x", name="North X")
    sub = SubscriptionFactory(service=fibre, area=north)
    factories.open_ticket(customer=sub.customer, subject="On fibre north")
    other = factories.open_ticket(subject="Somewhere else", category="other")
    mine = factories.open_ticket(subject="Taken by me")
    from tickets.services import ticket_assign, ticket_set_status

    ticket_assign(ticket=mine, assignee=agent, actor=agent)
    ticket_set_status(ticket=other, status=Ticket.Status.PENDING_CUSTOMER, actor=agent)

    def subjects(query):
        html = client.get(reverse("tickets:queue") + query).content.decode()
        return {s for s in ("On fibre north", "Somewhere else", "Taken by me") if s in html}

    assert subjects("") == {"On fibre north", "Somewhere else", "Taken by me"}
    assert subjects(f"?service={fibre.pk}") == {"On fibre north"}
    assert subjects(f"?area={north.pk}") == {"On fibre north"}
    assert subjects("?category=other") == {"Somewhere else"}
    assert subjects("?status=pending-customer") == {"Somewhere else"}
    assert subjects("?unassigned=1") == {"On fibre north", "Somewhere else"}
    assert subjects("?mine=1") == {"Taken by me"}
    assert subjects("?service=abc&area=&status=bogus&after=x_y") == subjects("")  # bad values: ignored


def test_the_incident_filter_registered_by_incidents_narrows_the_queue(client, agent):
    client.force_login(agent)
    covered = factories.open_ticket(subject="Mail down for me")
    factories.open_ticket(subject="Unrelated")
    from incidents.services import incident_link_ticket
    from tests.factories import ServiceFactory

    # Scoped to a service neither ticket is about: only the explicit link attaches one.
    incident = factories.declare_incident(
        title="Mail outage", services=[ServiceFactory(code="mail-x")]
    ).incident

    incident_link_ticket(incident=incident, ticket=covered, actor=agent)
    html = client.get(reverse("tickets:queue") + f"?incident={incident.pk}").content.decode()
    assert "Mail down for me" in html and "Unrelated" not in html
    assert f'<option value="{incident.pk}"' in html  # offered in the filter


def test_second_lines_queue_shows_the_hand_over_summary(client, agent, tech):
    ticket = factories.open_ticket()
    client.force_login(agent)
    client.post(
        reverse("tickets:escalate", args=[ticket.reference]),
        {"summary": "Sync lost at the DSLAM", "tried": "Restarted router"},
    )
    client.force_login(tech)
    html = client.get(reverse("tickets:escalations") + "?unassigned=1").content.decode()
    assert "Hand-over" in html and "Sync lost at the DSLAM" in html


def test_the_queue_query_count_is_the_same_for_a_filtered_second_page(
    client, agent, django_assert_num_queries
):
    client.force_login(agent)
    for _ in range(55):
        factories.open_ticket()
    client.get(reverse("tickets:queue"))
    first = reverse("tickets:queue") + "?status=new&unassigned=1"
    with django_assert_num_queries(11) as captured:
        html = client.get(first).content.decode()
    nxt = re.search(r'class="button" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    with django_assert_num_queries(len(captured.captured_queries)):
        client.get(reverse("tickets:queue") + nxt)


def test_billing_tickets_wait_in_the_billing_queue_not_first_line(client, agent):
    client.force_login(agent)
    bill = factories.open_ticket(category="billing", subject="Invoice question")
    link = f'href="{reverse("tickets:detail", args=[bill.reference])}"'  # not the search box's "SD-123"
    assert link not in client.get(reverse("tickets:queue")).content.decode()
    assert link in client.get(reverse("tickets:queue") + "?queue=billing").content.decode()


def test_agent_replies_and_the_customer_sees_the_reply_but_not_the_note(client, agent, alice):
    ticket = factories.open_ticket(customer=alice)
    client.force_login(agent)
    client.post(
        reverse("tickets:comment", args=[ticket.reference]), {"body": "We are on it.", "public": "on"}
    )
    client.post(reverse("tickets:comment", args=[ticket.reference]), {"body": "Customer sounds upset"})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN  # a public reply opens a new ticket
    client.force_login(alice.user)
    page = client.get(reverse("tickets:my_ticket", args=[ticket.reference])).content.decode()
    assert "We are on it." in page
    assert "Customer sounds upset" not in page


def test_escalation_needs_a_hand_over_and_moves_the_ticket_to_second_line(client, agent, tech):
    ticket = factories.open_ticket()
    client.force_login(agent)
    client.post(reverse("tickets:escalate", args=[ticket.reference]), {"summary": "No sync", "tried": ""})
    ticket.refresh_from_db()
    assert ticket.queue == "first-line"
    client.post(
        reverse("tickets:escalate", args=[ticket.reference]),
        {
            "summary": "No DSL sync",
            "tried": "Restarted modem, swapped cable",
            "customer_impact": "Works from home",
        },
    )
    ticket.refresh_from_db()
    assert (ticket.queue, ticket.status) == ("second-line", "escalated")
    handover = ticket.events.get(kind=TicketEvent.Kind.ESCALATED)
    assert handover.data["tried"] == "Restarted modem, swapped cable"
    client.force_login(tech)
    page = client.get(reverse("tickets:escalations")).content.decode()
    assert ticket.reference in page


def _escalated(agent, *, hours_to_resolve: float | None = None, resolved_days_ago: float = 0) -> Ticket:
    """A ticket escalated to second line; resolved ``hours_to_resolve`` after it was opened, if given."""
    from tickets.services import ticket_escalate, ticket_set_status

    ticket = factories.open_ticket()
    ticket_escalate(
        ticket=ticket, actor=agent, summary="Line down", tried="Restarted", customer_impact="Offline"
    )
    if hours_to_resolve is not None:
        ticket_set_status(ticket=ticket, status=Ticket.Status.RESOLVED, actor=agent)
        resolved = timezone.now() - timedelta(days=resolved_days_ago)
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=resolved - timedelta(hours=hours_to_resolve), resolved_at=resolved
        )
    return ticket


def test_the_escalation_panel_shows_queue_median_p80_and_the_derived_promise(client, agent):
    from tickets.selectors import second_line_wait

    for _ in range(3):
        _escalated(agent)  # waiting now
    for hours in (2, 4, 5.5, 8, 30):
        _escalated(agent, hours_to_resolve=hours, resolved_days_ago=1)
    _escalated(agent, hours_to_resolve=400, resolved_days_ago=40)  # too long ago to count
    billing = _escalated(agent, hours_to_resolve=1, resolved_days_ago=2)  # another category
    Ticket.objects.filter(pk=billing.pk).update(category="billing")
    resolved_in_first_line = factories.open_ticket()
    Ticket.objects.filter(pk=resolved_in_first_line.pk).update(
        status="resolved", created_at=timezone.now() - timedelta(hours=90), resolved_at=timezone.now()
    )

    wait = second_line_wait("technical")
    # Five technical resolutions: median 5.5 h; nearest-rank p80 = the 4th of 5 = 8 h. Six resolved
    # in 30 days (both categories) = 0.2 a day, so 3 waiting take 3 / (6 / 720 h) = 360 h to clear.
    assert wait == {
        "open": 3,
        "median_hours": 5.5,
        "p80_hours": 8.0,
        "sample": 5,
        "clear_hours": 360.0,
        "promise_hours": 360,
        "category": "technical",
    }
    assert second_line_wait("billing")["median_hours"] == 1.0

    ticket = factories.open_ticket()
    client.force_login(agent)
    page = client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()
    assert "3 tickets wait for second line now." in page
    assert "technical tickets, last 30 days (5 resolved): median 5.5 h, 80% within 8.0 h." in page
    assert "Promise the customer an answer within 360 hours." in page


def test_a_short_queue_promises_the_80th_percentile(agent):
    from tickets.selectors import second_line_wait

    _escalated(agent)  # one waiting
    for hours in [1.0] * 32 + [3.0] * 8:  # 40 resolved in 30 days: the one waiting clears in 18 h
        _escalated(agent, hours_to_resolve=hours, resolved_days_ago=3)
    wait = second_line_wait("technical")
    assert (wait["p80_hours"], wait["clear_hours"], wait["promise_hours"]) == (1.0, 18.0, 18)


def test_with_nothing_resolved_lately_the_wait_gives_no_median(client, agent):
    from tickets.selectors import second_line_wait

    _escalated(agent)
    wait = second_line_wait("technical")
    assert (wait["open"], wait["median_hours"], wait["p80_hours"], wait["promise_hours"]) == (
        1,
        None,
        None,
        None,
    )
    client.force_login(agent)
    page = client.get(reverse("tickets:detail", args=[factories.open_ticket().reference])).content.decode()
    assert "1 ticket waits for second line now." in page
    assert "promise no time" in page
    assert "median" not in page


def test_claiming_assigns_and_releasing_gives_back(client, tech):
    ticket = factories.open_ticket()
    client.force_login(tech)
    client.post(reverse("tickets:claim", args=[ticket.reference]))
    ticket.refresh_from_db()
    assert ticket.assignee == tech
    client.post(reverse("tickets:claim", args=[ticket.reference]), {"release": "1"})
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_lookup_finds_a_caller_by_phone_in_national_form(client, agent):
    sub = factories.SubscriptionFactory()
    sub.customer.phones.update(number="+46701234567")
    client.force_login(agent)
    page = client.get(reverse("tickets:lookup") + "?q=070-123 45 67").content.decode()
    assert sub.customer.name in page
    assert sub.customer.number in page


def test_a_scope_correction_is_recorded_as_data_and_shown_in_the_readers_language(client, agent):
    ticket = factories.open_ticket()
    email = factories.ServiceFactory(code="email", name="E-mail")
    client.force_login(agent)
    client.patch(
        f"/api/v1/tickets/{ticket.reference}/", {"service": "email"}, content_type="application/json"
    )
    event = ticket.events.get(kind=TicketEvent.Kind.NOTE)
    assert (event.body, event.data) == ("", {"changed": ["service"]})
    assert Ticket.objects.get(pk=ticket.pk).service == email
    page = client.get(reverse("tickets:detail", args=[ticket.reference]), HTTP_ACCEPT_LANGUAGE="sv")
    assert "Ändrade: tjänst" in page.content.decode()


def test_a_rejected_new_ticket_keeps_what_was_typed_and_names_the_blank_field(client, agent):
    customer = factories.SubscriptionFactory().customer
    client.force_login(agent)
    response = client.post(
        reverse("tickets:staff_open", args=[customer.number]),
        {
            "category": "technical",
            "channel": "phone",
            "priority": "2",
            "subject": "   ",
            "description": "Router blinks red since the storm",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Router blinks red since the storm" in html  # typed text kept
    assert '<details class="card" open>' in html  # the form is shown, not collapsed
    form = response.context["form"]
    assert list(form.errors) == ["subject"]
    assert not Ticket.objects.filter(customer=customer).exists()


def test_a_comment_is_an_internal_note_unless_the_reply_button_is_used(client, agent):
    customer = factories.CustomerFactory(language="fi", preferred_channel="sms")
    ticket = factories.open_ticket(customer=customer)
    client.force_login(agent)
    page = client.get(reverse("tickets:detail", args=[ticket.reference])).content.decode()
    assert "Send to the customer (Finnish, Text message)" in page
    assert 'type="checkbox" name="public"' not in page
    client.post(reverse("tickets:comment", args=[ticket.reference]), {"body": "Checked the line"})
    client.post(reverse("tickets:comment", args=[ticket.reference]), {"body": "Hei!", "public": "1"})
    kinds = dict(ticket.events.filter(body__in=["Checked the line", "Hei!"]).values_list("body", "public"))
    assert kinds == {"Checked the line": False, "Hei!": True}


def test_queue_rows_print_hostile_text_as_text(client, agent):
    """The rows' markup is written in Python (tickets.queue_rows.rows_html): a subject or a
    customer's name holding markup shows as text, in the cell and in attributes alike."""
    customer = factories.SubscriptionFactory(customer__name='Eve "><img src=x onerror=alert(1)>').customer
    ticket = factories.open_ticket(customer=customer, subject="<script>alert('x')</script> & more")
    client.force_login(agent)
    html = client.get(reverse("tickets:queue")).content.decode()
    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html
    assert "Eve &quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert f'name="t" value="{ticket.pk}"' in html
