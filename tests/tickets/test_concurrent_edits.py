"""Two staff on one ticket: a change based on what someone else has since changed is refused, with
what changed, on the page and in the API (ETag / If-Match); racing changes queue on the ticket's row
lock, so each decides on the current state."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import close_old_connections, transaction
from django.test import Client
from rest_framework.test import APIClient

from tests import factories
from tests.conftest import make_user
from tests.factories import logged_in
from tickets import services
from tickets.models import Ticket, TicketEvent


@pytest.fixture
def ticket(alice) -> Ticket:
    return factories.open_ticket(customer=alice)


@pytest.fixture
def other_agent(db):
    return make_user("bertil", "agent", first_name="Bertil", last_name="Berg")


def page_version(client: Client, ticket: Ticket) -> str:
    page = client.get(f"/desk/tickets/{ticket.reference}/").content.decode()
    versions = set(re.findall(r'name="version" value="(\d+)"', page))
    assert len(versions) == 1, "every form on the page carries the version it showed"
    return versions.pop()


@pytest.mark.core
def test_of_two_agents_taking_a_ticket_at_once_the_second_is_told_who_took_it(ticket, agent, other_agent):
    anna, bertil = logged_in(agent), logged_in(other_agent)
    seen_by_anna, seen_by_bertil = page_version(anna, ticket), page_version(bertil, ticket)
    assert seen_by_anna == seen_by_bertil

    anna.post(f"/desk/tickets/{ticket.reference}/claim/", {"version": seen_by_anna})
    response = bertil.post(
        f"/desk/tickets/{ticket.reference}/claim/", {"version": seen_by_bertil}, follow=True
    )

    ticket.refresh_from_db()
    assert ticket.assignee == agent, "the first take stands"
    assert ticket.events.filter(kind=TicketEvent.Kind.ASSIGNED).count() == 1
    page = response.content.decode()
    assert "Someone changed this ticket after you opened it, so nothing was saved" in page
    assert f"gave it to {agent.username}" in page
    # The refusal names the zone of the time it gives (settings.TIME_ZONE: Europe/Stockholm).
    assert re.search(r"\(\d\d:\d\d CES?T\)", page)
    # Looking again gives the current version: the second try goes through.
    bertil.post(f"/desk/tickets/{ticket.reference}/claim/", {"version": page_version(bertil, ticket)})
    ticket.refresh_from_db()
    assert ticket.assignee == other_agent


@pytest.mark.core
def test_a_stale_status_change_is_refused_and_a_current_one_applies(ticket, agent, other_agent):
    anna, bertil = logged_in(agent), logged_in(other_agent)
    seen = page_version(bertil, ticket)
    anna.post(f"/desk/tickets/{ticket.reference}/status/", {"status": "pending-customer"})

    response = bertil.post(
        f"/desk/tickets/{ticket.reference}/status/", {"status": "resolved", "version": seen}, follow=True
    )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING_CUSTOMER
    assert "set the status to Waiting for customer" in response.content.decode()

    bertil.post(
        f"/desk/tickets/{ticket.reference}/status/",
        {"status": "resolved", "version": page_version(bertil, ticket)},
    )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED


@pytest.mark.core
def test_the_api_gives_an_etag_and_refuses_a_patch_whose_if_match_is_stale(ticket, agent, other_agent):
    api = APIClient()
    api.force_authenticate(agent)
    url = f"/api/v1/tickets/{ticket.reference}/"
    etag = api.get(url)["ETag"]
    assert etag == f'"{Ticket.objects.get(pk=ticket.pk).version}"'

    services.ticket_assign(ticket=ticket, assignee=other_agent, actor=other_agent)

    refused = api.patch(
        url, {"status": "resolved", "assignee": agent.username}, format="json", HTTP_IF_MATCH=etag
    )
    assert refused.status_code == 412
    assert refused.json()["changes"] and "gave it to bertil" in refused.json()["changes"][0]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (Ticket.Status.OPEN, other_agent), "nothing of it was saved"

    current = api.get(url)["ETag"]
    applied = api.patch(url, {"status": "resolved"}, format="json", HTTP_IF_MATCH=current)
    assert applied.status_code == 200
    assert applied["ETag"] != current
    assert api.patch(url, {"status": "open"}, format="json", HTTP_IF_MATCH="*").status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_racing_an_escalation_waits_for_it_and_leaves_the_ticket_escalated(alice, agent, tech):
    ticket = factories.open_ticket(customer=alice)
    assert ticket.status == Ticket.Status.NEW
    # Both read the ticket as "new" before either writes, as two requests do.
    escalating, claiming = Ticket.objects.get(pk=ticket.pk), Ticket.objects.get(pk=ticket.pk)
    escalated, claim_started, claim_done = threading.Event(), threading.Event(), threading.Event()
    errors = []

    def escalate():
        try:
            with transaction.atomic():
                services.ticket_escalate(ticket=escalating, actor=agent, summary="No sync", tried="Restart")
                escalated.set()
                claim_started.wait(5)
                # The claim must wait on the row lock until this commits.
                assert not claim_done.wait(0.5), "the claim went ahead while the escalation held the row"
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    def claim():
        try:
            escalated.wait(5)
            claim_started.set()
            services.ticket_assign(ticket=claiming, assignee=tech, actor=tech)
            claim_done.set()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=escalate), threading.Thread(target=claim)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors, errors
    ticket.refresh_from_db()
    assert (ticket.queue, ticket.status, ticket.assignee) == (
        Ticket.Queue.SECOND_LINE,
        Ticket.Status.ESCALATED,
        tech,
    ), "second line's tech holds an escalated ticket; the claim did not reopen it"
    statuses = list(ticket.events.filter(kind=TicketEvent.Kind.STATUS).values_list("data__to", flat=True))
    assert statuses == ["escalated"]
