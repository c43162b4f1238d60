"""The incident list as CSV: streamed, staff only, with the list's filters, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from incidents import services
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.core]


def rows(response) -> list[list[str]]:
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_staff_download_every_incident_newest_first(client, agent, ops, catalogue, ticket_in):
    ticket_in(service=catalogue.broadband, area=catalogue.solna)
    first = factories.declare_incident(actor=ops, title="Old outage", services=[catalogue.broadband]).incident
    second = factories.declare_incident(actor=ops, title="New outage", services=[catalogue.email]).incident
    client.force_login(agent)
    response = client.get(reverse("dashboard:incidents_csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = rows(response)
    assert table[0][:3] == ["id", "title", "kind"]
    assert [r[1] for r in table[1:]] == ["New outage", "Old outage"]
    by_id = {int(r[0]): dict(zip(table[0], r, strict=True)) for r in table[1:]}
    assert by_id[first.pk]["linked_tickets"] == "1"
    assert by_id[first.pk]["services"] == "broadband"
    assert by_id[second.pk]["severity"] == "major"


def test_filters_by_status_and_kind(client, ops, catalogue):
    active = factories.declare_incident(actor=ops, title="Still down", services=[catalogue.email]).incident
    done = factories.declare_incident(actor=ops, title="Fixed", services=[catalogue.iptv]).incident
    services.incident_resolve(incident=done, actor=ops)
    factories.declare_incident(actor=ops, title="Window", kind="maintenance", services=[catalogue.iptv])
    client.force_login(ops)
    titles = lambda q: [r[1] for r in rows(client.get(reverse("dashboard:incidents_csv"), q))[1:]]  # noqa: E731
    assert titles({"status": "resolved"}) == ["Fixed"]
    assert set(titles({"status": "active"})) == {"Still down", "Window"}
    assert titles({"status": "active", "kind": "maintenance"}) == ["Window"]
    assert len(titles({"status": "nonsense"})) == 3  # an unknown filter filters nothing
    assert active.pk


def test_a_title_that_looks_like_a_formula_is_neutralised(client, ops, catalogue):
    factories.declare_incident(actor=ops, title='=HYPERLINK("http://evil","x")', services=[catalogue.email])
    client.force_login(ops)
    table = rows(client.get(reverse("dashboard:incidents_csv")))
    assert table[1][1].startswith("'=")


def test_customers_and_outsiders_cannot_export(client, alice, outsider):
    client.force_login(alice.user)
    assert client.get(reverse("dashboard:incidents_csv")).status_code == 403
    client.force_login(outsider)
    assert client.get(reverse("dashboard:incidents_csv")).status_code == 403
