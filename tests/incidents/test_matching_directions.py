"""The scope rule gives the same answer both ways: an incident declared over existing tickets
(set-based) links exactly the tickets, with exactly the reasons and scores, that the ticket side
links when the same tickets are matched one by one against the incident."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction
from django.utils import timezone

from customers.models import Subscription
from incidents import matching
from incidents.models import Incident, IncidentTicketLink
from tests.factories import CustomerFactory, backdate, declare_incident, open_ticket
from tickets.models import Ticket
from tickets.services import ticket_set_status


def scopes(c) -> dict[str, dict]:
    """Named scopes over the ``catalogue`` fixture: every dimension, alone and together."""
    return {
        "everything": {},
        "e-mail": {"services": [c.email]},
        "e-mail or TV": {"services": [c.iptv, c.email]},
        "Stockholm": {"areas": [c.stockholm]},
        "Solna or Göteborg": {"areas": [c.solna, c.goteborg]},
        "ZyXEL in Sweden": {"areas": [c.sweden], "equipment": [c.zyxel]},
        "FRITZ!Box known issue": {"kind": "known-issue", "equipment": [c.fritz]},
        "keywords": {"keywords": ["blink", "SÄHKÖ"]},
        "all four": {
            "services": [c.broadband],
            "areas": [c.stockholm],
            "equipment": [c.zyxel],
            "keywords": ["modem"],
        },
    }


SUBJECTS = ["Modem blinking", "sähköposti ei toimi", "No connection"]


def open_fixture_tickets(c, ticket_in) -> list[Ticket]:
    """Every service × area × equipment, with varying words, and a ticket whose service is guessed
    from its text (no subscription: no area, no equipment)."""
    combos = itertools.product(
        [c.email, c.broadband, c.iptv], [c.solna, c.taby, c.hisingen], [c.zyxel, c.fritz]
    )
    tickets = [
        ticket_in(service=s, area=a, equipment=e, subject=SUBJECTS[n % 3])
        for n, (s, a, e) in enumerate(combos)
    ]
    guessed = open_ticket(customer=CustomerFactory(), subject="Min e-post fungerar inte", description="")
    assert guessed.service == c.email and guessed.service_source == "text" and guessed.area is None
    return [*tickets, guessed]


def links_of(incident: Incident) -> dict[int, tuple[dict, float]]:
    """The incident's attached links: ticket id → (reasons, score)."""
    return {
        link.ticket_id: (link.reasons, link.score)
        for link in IncidentTicketLink.objects.filter(incident=incident, detached_at__isnull=True)
    }


def declare(ops, name: str, scope: dict, **fields) -> Incident:
    scope = dict(scope)
    return declare_incident(
        actor=ops, title=name, kind=scope.pop("kind", "outage"), **scope, **fields
    ).incident


def test_tickets_opened_after_a_declaration_get_the_links_a_declaration_after_them_writes(
    catalogue, ticket_in, ops
):
    started = timezone.now() - timezone.timedelta(hours=1)  # the same window for both incidents
    named = scopes(catalogue)
    # Ticket side: the incidents exist first, each ticket is matched as it is opened.
    first = {name: declare(ops, f"{name} (first)", s, started_at=started) for name, s in named.items()}
    tickets = open_fixture_tickets(catalogue, ticket_in)
    # Set-based side: the same scopes declared again over the same tickets.
    then = {name: declare(ops, f"{name} (then)", s, started_at=started) for name, s in named.items()}
    for name in named:
        ticket_side, set_side = links_of(first[name]), links_of(then[name])
        assert ticket_side == set_side, name
        # Each scope is a real test: it covers some of the tickets and not others (bar "everything").
        assert set_side, name
        assert name == "everything" or len(set_side) < len(tickets), name


def test_the_time_window_and_the_ticket_status_agree_both_ways(catalogue, ticket_in, ops, settings):
    settings.INCIDENT_LOOKBACK = timezone.timedelta(hours=4)
    for age in ({"minutes": 5}, {"hours": 3}, {"hours": 5}, {"hours": 7}, {"days": 30}):
        backdate(ticket_in(service=catalogue.email, equipment=catalogue.fritz), **age)
    done = ticket_in(service=catalogue.email)
    ticket_set_status(ticket=done, status="resolved", actor=ops)
    waiting = ticket_in(service=catalogue.email)
    ticket_set_status(ticket=waiting, status="pending-customer", actor=ops)
    incidents = [
        declare(ops, "now", {"services": [catalogue.email]}),
        declare(
            ops,
            "two hours ago",
            {"services": [catalogue.email]},
            started_at=timezone.now() - timezone.timedelta(hours=2),
        ),
        declare(ops, "known issue", {"kind": "known-issue", "equipment": [catalogue.fritz]}),
    ]
    set_side = {i.pk: links_of(i) for i in incidents}
    assert [len(set_side[i.pk]) for i in incidents] == [3, 4, 5]  # the windows do cut

    # The same tickets matched one by one, as when they are opened.
    IncidentTicketLink.objects.all().delete()
    for ticket in Ticket.objects.all():
        with transaction.atomic():
            matching.match_ticket(ticket, created=True)
    assert {i.pk: links_of(i) for i in incidents} == set_side


def test_the_compiled_candidate_query_answers_as_the_orm_does(catalogue, ticket_in, ops):
    started = timezone.now() - timezone.timedelta(hours=1)
    for name, scope in scopes(catalogue).items():
        declare(ops, name, scope, started_at=started)
    tickets = open_fixture_tickets(catalogue, ticket_in)
    backdate(tickets[0], days=2)  # outside the outages' windows, inside the known issue's
    seen = set()
    for ticket in Ticket.objects.select_related("area"):
        compiled = sorted(i.pk for i in matching.candidate_incidents(ticket))
        orm = sorted(i.pk for i in matching.candidate_incidents_orm(ticket))
        assert compiled == orm, ticket.subject
        seen.add(tuple(compiled))
    assert len(seen) > 3  # different tickets, different answers


def test_subscriptions_covered_by_a_scope_are_those_whose_incidents_cover_them(catalogue, ticket_in, ops):
    open_fixture_tickets(catalogue, ticket_in)  # one subscription per ticket
    Subscription.objects.filter(pk=Subscription.objects.order_by("pk").first().pk).update(active=False)
    incidents = [declare(ops, name, scope) for name, scope in scopes(catalogue).items()]
    subscriptions = list(Subscription.objects.filter(active=True).select_related("area"))
    # Keywords are about what a customer wrote: a subscription is covered regardless of them.
    by_scope = {
        i.pk: set(matching.Scope.of(i).subscriptions().values_list("pk", flat=True)) for i in incidents
    }
    by_subscription = {
        i.pk: {s.pk for s in subscriptions if Incident.objects.filter(pk=i.pk).filter(matching.covering_q(s))}
        for i in incidents
    }
    assert by_scope == by_subscription
    assert len({frozenset(v) for v in by_scope.values()}) > 3


@pytest.mark.parametrize("order", [("email", "iptv"), ("iptv", "email")])
def test_reasons_list_values_in_one_order_whichever_side_and_order(catalogue, ticket_in, ops, order):
    before = ticket_in(service=catalogue.email)  # linked by the declaration (set-based)
    incident = declare(ops, "mail and TV", {"services": [getattr(catalogue, code) for code in order]})
    after = ticket_in(service=catalogue.email)  # linked by the ticket side
    links = IncidentTicketLink.objects.filter(incident=incident)
    assert {link.ticket_id: link.reasons["service"] for link in links} == {
        before.pk: ["email", "iptv"],
        after.pk: ["email", "iptv"],
    }
