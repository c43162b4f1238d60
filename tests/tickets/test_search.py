"""The top bar's search: references go straight to the ticket; customers, ticket text and comments
are found and grouped, in Swedish, Finnish and English alike."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from tests import factories
from tickets import selectors
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_comment

pytestmark = [pytest.mark.django_db]


def _search(client, q: str):
    return client.get(reverse("tickets:search"), {"q": q})


@pytest.mark.core
def test_a_ticket_reference_goes_straight_to_the_ticket_in_any_case_or_spacing(client, agent):
    ticket = factories.open_ticket()
    client.force_login(agent)
    for q in (ticket.reference, ticket.reference.lower(), f"  sd- {ticket.pk} "):
        response = _search(client, q)
        assert response.status_code == 302, q
        assert response["Location"] == reverse("tickets:detail", args=[ticket.reference])


@pytest.mark.core
def test_an_unknown_reference_says_nothing_matches_instead_of_failing(client, agent):
    client.force_login(agent)
    response = _search(client, "SD-999999")
    assert response.status_code == 200
    assert "Nothing matches that." in response.content.decode()


@pytest.mark.core
def test_customers_are_found_by_name_words_number_email_and_any_phone_format(agent):
    karin = factories.CustomerFactory(name="Karin Lindqvist", number="4711001", phone="+46731112233")
    factories.CustomerFactory(name="Kalle Virtanen", number="4711002")
    for q in (
        "Karin Lindqvist",
        "lindq",
        "karin",
        "4711001",
        karin.email,
        "073-111 22 33",
        "46731112233",
        "+46 (0)73-111 22 33",
    ):
        assert [c.name for c in selectors.search(q).customers] == ["Karin Lindqvist"], q


@pytest.mark.core
def test_ticket_subjects_descriptions_and_comments_are_found_in_swedish_finnish_and_english(agent):
    sv = factories.open_ticket(subject="Routern tappar uppkopplingen", description="Varje kväll.")
    fi = factories.open_ticket(subject="Sähköposti ei toimi", description="Viestit jäävät lähtevät-kansioon.")
    en = factories.open_ticket(subject="TV box", description="Keeps restarting after the firmware update.")
    ticket_comment(ticket=en, actor=agent, body="Customer power-cycled the box; no change.", public=False)
    assert [t.pk for t in selectors.search("uppkopplingen").tickets] == [sv.pk]
    assert [t.pk for t in selectors.search("sähköposti").tickets] == [fi.pk]
    assert [t.pk for t in selectors.search("kansioon").tickets] == [fi.pk]  # in the description
    assert [t.pk for t in selectors.search("firmware update").tickets] == [en.pk]
    found = selectors.search("power-cycled")
    assert [(e.ticket_id, e.kind) for e in found.comments] == [(en.pk, TicketEvent.Kind.NOTE)]
    assert found.tickets == []
    assert selectors.search("firmware nonsenseword").tickets == []  # every word must match


@pytest.mark.core
def test_the_results_page_groups_customers_tickets_and_comments(client, agent):
    customer = factories.CustomerFactory(name="Maja Fiberström")
    ticket = factories.open_ticket(customer=customer, subject="Fiberström question")
    ticket_comment(ticket=ticket, actor=agent, body="Fiberström said she will call back", public=False)
    client.force_login(agent)
    page = _search(client, "fiberström").content.decode()
    customers, tickets, comments = (
        page.index(f'id="found-{g}"') for g in ("customers", "tickets", "comments")
    )
    assert customers < tickets < comments
    assert page.count(f'href="/desk/tickets/{ticket.reference}/"') == 2  # its ticket row and its comment row


@pytest.mark.core
def test_search_costs_the_same_queries_for_one_or_many_hits(client, agent, django_assert_num_queries):
    client.force_login(agent)
    factories.open_ticket(subject="Modem blinkar")
    _search(client, "modem")  # warm the session
    # session, user, roles, banner + customers, tickets and comments (recent rows, then the index)
    with django_assert_num_queries(9 if connection.vendor == "postgresql" else 7):
        _search(client, "modem")
    for _ in range(5):
        t = factories.open_ticket(subject="Modem blinkar igen")
        ticket_comment(ticket=t, actor=agent, body="modem bytt", public=False)
    with django_assert_num_queries(9 if connection.vendor == "postgresql" else 7):
        page = _search(client, "modem").content.decode()
    assert page.count("Modem blinkar igen") == 5
    assert page.count("modem bytt") == 5


def test_customers_and_the_public_cannot_search(client, alice):
    assert _search(client, "x").status_code in (302, 403)
    client.force_login(alice.user)
    assert _search(client, "x").status_code == 403


@pytest.mark.postgres
def test_every_text_search_uses_its_gin_index(agent):
    from customers.models import Customer

    with connection.cursor() as cur:
        cur.execute("SET enable_seqscan = off")  # a tiny table: make the planner show what it can use
    words = selectors.search_words("karin lind")
    annotations, cond = selectors._text_filter(words, "subject", "description")
    plans = {
        "ticket_search_idx": Ticket.objects.alias(**annotations).filter(cond).explain(),
        "customer_name_search_idx": Customer.objects.alias(**selectors._text_filter(words, "name")[0])
        .filter(selectors._text_filter(words, "name")[1])
        .explain(),
        "ticketevent_search_idx": TicketEvent.objects.filter(kind__in=selectors.COMMENT_KINDS)
        .alias(**selectors._text_filter(words, "body")[0])
        .filter(selectors._text_filter(words, "body")[1])
        .explain(),
    }
    for index, plan in plans.items():
        assert index in plan, plan
