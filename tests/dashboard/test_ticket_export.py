"""Tickets as CSV for ops and admin: the dashboard's filters, streamed in keyset chunks (constant
memory, one query per chunk), cells safe to open in a spreadsheet, and a constant-memory stream under
ASGI too."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from dashboard import exports
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.core]
URL = "/ops/tickets/export.csv"


def rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.streaming
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0] == exports.TICKET_HEADER
    return [dict(zip(table[0], r, strict=True)) for r in table[1:]]


def test_the_url_is_named():
    assert reverse("dashboard:tickets_csv") == URL


@pytest.mark.parametrize("persona", ["ops", "admin_user"])
def test_ops_and_admin_download_the_tickets_newest_first(client, persona, request, catalogue, ticket_in):
    old = ticket_in(service=catalogue.broadband, area=catalogue.solna)
    new = ticket_in(service=catalogue.email, area=catalogue.hisingen)
    Ticket.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    client.force_login(request.getfixturevalue(persona))
    response = client.get(URL)
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="tickets-' in response["Content-Disposition"]
    got = rows(response)
    assert [r["reference"] for r in got] == [new.reference, old.reference]
    assert got[0]["service"] == "email" and got[0]["region"] == "se-o" and got[0]["area"] == "se-o-hisingen"
    assert got[1]["customer"] == old.customer.number


@pytest.mark.parametrize("persona", ["agent", "tech"])
def test_agents_and_techs_are_refused(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(URL).status_code == 403


def test_a_customer_is_refused_and_anonymous_is_sent_to_login(client, alice):
    assert client.get(URL)["Location"].startswith(reverse("login"))
    client.force_login(alice.user)
    assert client.get(URL).status_code == 403


def test_filters_by_range_service_region_and_open(client, ops, catalogue, ticket_in):
    solna_bb = ticket_in(service=catalogue.broadband, area=catalogue.solna)
    taby_mail = ticket_in(service=catalogue.email, area=catalogue.taby)
    gbg_bb = ticket_in(service=catalogue.broadband, area=catalogue.hisingen)
    last_month = ticket_in(service=catalogue.broadband, area=catalogue.solna)
    Ticket.objects.filter(pk=last_month.pk).update(created_at=timezone.now() - timedelta(days=20))
    Ticket.objects.filter(pk=taby_mail.pk).update(status="closed", resolved_at=timezone.now())
    client.force_login(ops)
    refs = lambda **q: {r["reference"] for r in rows(client.get(URL, q))}  # noqa: E731
    assert refs(range="today") == {solna_bb.reference, taby_mail.reference, gbg_bb.reference}
    assert last_month.reference in refs(range="30d")
    assert refs(range="today", service="broadband") == {solna_bb.reference, gbg_bb.reference}
    assert refs(range="today", region="se-ab") == {solna_bb.reference, taby_mail.reference}
    assert refs(range="today", region="se-ab", open="1") == {solna_bb.reference}
    assert refs(range="30d", region="se-ab-solna", service="broadband") == {
        solna_bb.reference,
        last_month.reference,
    }


def test_an_unknown_service_or_area_is_a_400_not_a_bigger_export(client, ops):
    client.force_login(ops)
    response = client.get(URL, {"service": "no-such"})
    assert response.status_code == 400 and b"service" in response.content
    assert client.get(URL, {"region": "atlantis"}).status_code == 400


def test_cells_that_a_spreadsheet_would_run_are_defused(client, ops, catalogue, ticket_in):
    ticket_in(subject='=HYPERLINK("http://evil.example","click")')
    ticket_in(subject="+46 70 123 45 67 calls")
    ticket_in(subject="@SUM(A1)")
    client.force_login(ops)
    subjects = sorted(r["subject"] for r in rows(client.get(URL)))
    assert subjects == ["'+46 70 123 45 67 calls", '\'=HYPERLINK("http://evil.example","click")', "'@SUM(A1)"]


def test_it_reads_in_keyset_chunks_one_query_each(ops, catalogue, ticket_in, django_assert_num_queries):
    made = [ticket_in() for _ in range(5)]
    # Two tickets share an instant: the keyset (created_at, id) must neither skip nor repeat one.
    Ticket.objects.filter(pk__in=[made[1].pk, made[2].pk]).update(created_at=made[1].created_at)
    filters = exports.TicketFilters.from_query({"range": "today"})
    with django_assert_num_queries(3):  # 2 + 2 + 1 tickets
        got = list(exports.ticket_rows(filters, chunk=2))
    assert sorted(r[0] for r in got[1:]) == sorted(t.reference for t in made)


@pytest.mark.django_db(transaction=True)  # the ASGI handler reads from its own thread's connection
async def test_under_asgi_the_stream_is_asynchronous_and_complete(ops, catalogue, ticket_in):
    from asgiref.sync import sync_to_async

    made = await sync_to_async(lambda: [ticket_in() for _ in range(3)])()
    client = AsyncClient()
    await client.aforce_login(ops)
    response = await client.get(URL)
    assert response.status_code == 200 and response.is_async  # no "consume whole" fallback
    body = b"".join([part async for part in response.streaming_content]).decode()
    await sync_to_async(response.close)()  # request_finished: the handler thread's connection closes
    got = list(csv.reader(io.StringIO(body)))[1:]
    assert sorted(r[0] for r in got) == sorted(t.reference for t in made)
