"""The public status page by postcode: what touches the place (and nothing else), planned
maintenance, uptime bars computed from incident windows, times on the place's clock with the zone
named, a fixed number of queries, and an Atom feed of the public updates."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from customers.models import Area
from customers.selectors import find_place
from incidents import status
from incidents.models import Incident
from incidents.services import incident_post_update, incident_resolve, incident_withdraw
from tests import factories
from tests.factories import declare_incident

pytestmark = [pytest.mark.django_db, pytest.mark.core]


@pytest.fixture
def places(db):
    """Sweden → Stockholm region → Stockholm municipality → 111 22 and 116 46; Göteborg region;
    Finland → Helsinki → 00100. Fibre and e-mail at the postcodes."""
    se = factories.AreaFactory(code="se", name="Sverige", kind=Area.Kind.COUNTRY, parent=None)
    region = factories.AreaFactory(code="se-ab", name="Stockholms län", kind=Area.Kind.REGION, parent=se)
    sthlm = factories.AreaFactory(code="se-ab-0180", name="Stockholm", parent=region)
    gbg = factories.AreaFactory(code="se-o", name="Västra Götaland", kind=Area.Kind.REGION, parent=se)
    fi = factories.AreaFactory(code="fi", name="Suomi", kind=Area.Kind.COUNTRY, parent=None)
    hki = factories.AreaFactory(
        code="fi-18-091", name="Helsinki", names={"sv": "Helsingfors", "fi": "Helsinki"}, parent=fi
    )

    class P:
        fibre = factories.ServiceFactory(
            code="broadband", name="Fibre broadband", names={"sv": "Fiberbredband", "fi": "Kuituliittymä"}
        )
        email = factories.ServiceFactory(
            code="email", name="E-mail", names={"sv": "E-post", "fi": "Sähköposti"}
        )
        sweden, stockholm, goteborg, finland, helsinki = se, sthlm, gbg, fi, hki
        norrmalm = factories.AreaFactory(
            code="se-11122", name="111 22 Stockholm (Norrmalm)", kind=Area.Kind.POSTCODE, parent=sthlm
        )
        sodermalm = factories.AreaFactory(
            code="se-11646", name="116 46 Stockholm (Södermalm)", kind=Area.Kind.POSTCODE, parent=sthlm
        )
        keskusta = factories.AreaFactory(
            code="fi-00100",
            name="00100 Helsinki (Keskusta)",
            names={"sv": "00100 Helsingfors (Centrum)"},
            kind=Area.Kind.POSTCODE,
            parent=hki,
        )

    for leaf in (P.norrmalm, P.sodermalm, P.keskusta):
        leaf.services.add(P.fibre, P.email)
    return P


def page(query: str, lang: str = "en", **params) -> tuple[int, str]:
    response = Client().get("/status/", {"q": query, **params}, HTTP_ACCEPT_LANGUAGE=lang)
    return response.status_code, response.content.decode()


def test_a_postcode_shows_what_touches_it_and_nothing_from_elsewhere(places, ops):
    declare_incident(
        actor=ops, title="Fibre down in Stockholm", services=[places.fibre], areas=[places.stockholm]
    )
    declare_incident(
        actor=ops, title="Fibre down on Södermalm", services=[places.fibre], areas=[places.sodermalm]
    )
    declare_incident(
        actor=ops, title="Mail down in Göteborg", services=[places.email], areas=[places.goteborg]
    )
    declare_incident(
        actor=ops,
        title="Fibre works on Norrmalm",
        kind="maintenance",
        services=[places.fibre],
        areas=[places.norrmalm],
        started_at=timezone.now() + timedelta(days=2),
        eta=timezone.now() + timedelta(days=2, hours=3),
    )
    mistake = declare_incident(actor=ops, title="Declared by mistake", areas=[places.norrmalm]).incident
    incident_withdraw(incident=mistake, actor=ops, reason="wrong place")

    code, body = page("111 22")
    assert code == 200
    assert "Fibre down in Stockholm" in body  # declared on the municipality above the postcode
    assert "Fibre works on Norrmalm" in body and "Planned maintenance" in body
    assert "Södermalm" not in body.split("Right now")[1].split("The last")[0]  # a sibling postcode
    assert "Göteborg" not in body and "Declared by mistake" not in body
    # The municipality's page also shows what touches any postcode in it.
    assert "Fibre down on Södermalm" in page("Stockholm")[1]


def test_postcodes_are_found_as_people_type_them(places):
    for typed in ("111 22", "11122", "SE-111 22", " 111  22 "):
        assert find_place(typed) == places.norrmalm, typed
    assert find_place("00100") == places.keskusta
    assert find_place("Helsingfors") == places.helsinki  # a place's name in another language
    assert find_place("stockholm") == places.stockholm  # an exact name before longer ones
    assert find_place("99999") is None


def test_an_unknown_place_gets_a_kind_answer(places):
    code, body = page("Atlantis")
    assert code == 404
    assert "We could not find" in body and "Atlantis" in body


def test_times_are_on_the_places_clock_with_the_zone_named(places, ops):
    started = datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("UTC"))
    declare_incident(
        actor=ops, title="Kuitu poikki", services=[places.fibre], areas=[places.helsinki], started_at=started
    )
    body = page("00100")[1]
    assert "Europe/Helsinki" in body and "20 Nov 12:00 EET" in body
    body = page("111 22")[1]
    assert "Europe/Stockholm" in body


def test_names_and_titles_are_in_the_viewers_language(places, ops):
    declare_incident(
        actor=ops,
        title="Fibre outage",
        titles={"fi": "Kuituvika", "sv": "Fiberavbrott"},
        services=[places.fibre],
        areas=[places.helsinki],
    )
    body = page("00100", lang="fi")[1]
    assert "Kuituvika" in body and "Kuituliittymä" in body and "Sähköposti" in body
    assert "Fibre outage" not in body
    body = page("00100", lang="sv")[1]
    assert "Fiberavbrott" in body and "00100 Helsingfors (Centrum)" in body
    assert "Fibre outage" in page("00100", lang="en")[1]  # no English title: the fallback


def test_the_page_costs_the_same_few_queries_however_many_incidents(places, ops, django_assert_num_queries):
    def declare_some(n):
        for i in range(n):
            incident = declare_incident(
                actor=ops, title=f"Outage {i}", services=[places.fibre], areas=[places.stockholm]
            ).incident
            incident_post_update(incident=incident, actor=ops, message={"en": f"Update {i}"})

    declare_some(1)
    # place, services there, incidents, their updates, their services, uptime windows, their scopes
    with django_assert_num_queries(7):
        assert page("111 22")[0] == 200
    declare_some(6)
    with django_assert_num_queries(7):
        code, body = page("111 22")
    assert code == 200 and "Outage 5" in body and "Update 5" in body


# --- uptime bars ----------------------------------------------------------------------------------


def _window(ops, *, kind="outage", services, start, end=None, areas):
    incident = declare_incident(
        actor=ops, title=f"{kind} {start}", kind=kind, services=services, areas=areas, started_at=start
    ).incident
    if end is not None:
        incident_resolve(incident=incident, actor=ops)
        Incident.objects.filter(pk=incident.pk).update(resolved_at=end)
    return incident


def test_uptime_bars_follow_the_incident_windows_day_by_day(places, ops):
    zone = ZoneInfo("Europe/Stockholm")
    now = timezone.now()
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    # Fibre: an outage across midnight two days ago (22:00–02:00), overlapping another (23:00–01:00).
    two_ago = today - timedelta(days=2)
    _window(
        ops,
        services=[places.fibre],
        areas=[places.stockholm],
        start=two_ago + timedelta(hours=22),
        end=two_ago + timedelta(hours=26),
    )
    _window(
        ops,
        services=[places.fibre],
        areas=[places.norrmalm],
        start=two_ago + timedelta(hours=23),
        end=two_ago + timedelta(hours=25),
    )
    # E-mail: a degradation yesterday; an outage elsewhere (Göteborg) does not count here.
    yesterday = today - timedelta(days=1)
    _window(
        ops,
        kind="degradation",
        services=[places.email],
        areas=[places.sweden],
        start=yesterday + timedelta(hours=9),
        end=yesterday + timedelta(hours=10),
    )
    _window(
        ops,
        services=[places.email],
        areas=[places.goteborg],
        start=yesterday + timedelta(hours=9),
        end=yesterday + timedelta(hours=12),
    )
    # Planned maintenance is announced, never counted as downtime.
    _window(
        ops,
        kind="maintenance",
        services=[places.fibre],
        areas=[places.norrmalm],
        start=yesterday + timedelta(hours=1),
        end=yesterday + timedelta(hours=5),
    )

    fibre, email = status.uptime_bars(places.norrmalm, [places.fibre, places.email], now=now)
    assert len(fibre.days) == status.UPTIME_DAYS == 90
    assert fibre.days[-1].day == now.astimezone(zone).date()
    states = {d.day: (d.state, d.outage_minutes) for d in fibre.days}
    assert states[two_ago.date()] == ("outage", 120)  # 22:00–24:00, the overlap counted once
    assert states[yesterday.date()] == ("outage", 120)  # 00:00–02:00
    assert fibre.outage_days == 2
    period = (now - (today - timedelta(days=89))).total_seconds()
    assert fibre.uptime_percent == round(100 * (1 - 4 * 3600 / period), 2)

    assert [d.state for d in email.days if d.state != "ok"] == ["degraded"]
    assert email.uptime_percent == 100.0


def test_an_ongoing_outage_runs_until_now(places, ops):
    now = timezone.now()
    _window(ops, services=[], areas=[places.helsinki], start=now - timedelta(minutes=30))
    [fibre] = status.uptime_bars(places.keskusta, [places.fibre], now=now)
    assert fibre.days[-1].state == "outage"
    # Half an hour, whatever the time of day (shortly after midnight it spans two days).
    assert sum(d.outage_minutes for d in fibre.days[-2:]) == 30


# --- the Atom feed ----------------------------------------------------------------------------------


def test_the_atom_feed_carries_the_public_updates_of_the_place(places, ops):
    incident = declare_incident(
        actor=ops,
        title="Fibre down",
        titles={"sv": "Fibern ligger nere"},
        public_message={"sv": "Vi vet om felet", "en": "We know"},
        services=[places.fibre],
        areas=[places.stockholm],
    ).incident
    incident_post_update(incident=incident, actor=ops, message={"sv": "Felet är hittat"})
    incident_post_update(incident=incident, actor=ops, message={"sv": "SECRET internal"}, public=False)
    declare_incident(actor=ops, title="Elsewhere", areas=[places.goteborg])

    response = Client().get("/status/area/se-11122/feed/", HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    body = response.content.decode()
    assert body.count("<entry>") == 2
    assert "Vi vet om felet" in body and "Felet är hittat" in body and "Fibern ligger nere" in body
    assert "SECRET" not in body and "Elsewhere" not in body
    assert "/status/?q=se-11122#incident-" in body
    assert Client().get("/status/area/nowhere/feed/").status_code == 404


def test_the_status_api_answers_for_a_postcode_or_area_and_a_service(places, ops):
    declare_incident(actor=ops, title="Fibre down", services=[places.fibre], areas=[places.stockholm])
    declare_incident(actor=ops, title="Mail down", services=[places.email], areas=[places.stockholm])
    declare_incident(actor=ops, title="Göteborg", areas=[places.goteborg])
    body = Client().get("/api/v1/status/", {"postcode": "111 22"}).json()
    assert body["area"]["code"] == "se-11122"
    assert sorted(i["title"] for i in body["incidents"]) == ["Fibre down", "Mail down"]
    body = Client().get("/api/v1/status/", {"area": "se-ab-0180", "service": "email"}).json()
    assert [i["title"] for i in body["incidents"]] == ["Mail down"]
    everywhere = Client().get("/api/v1/status/", {"service": "broadband"}).json()
    assert everywhere["area"] is None
    assert sorted(i["title"] for i in everywhere["incidents"]) == ["Fibre down", "Göteborg"]
    assert Client().get("/api/v1/status/", {"postcode": "99999"}).status_code == 404
    assert Client().get("/api/v1/status/", {"service": "nope"}).status_code == 400


def test_an_incident_only_proposed_from_a_surge_is_not_shown_to_the_public(places, ops):
    incident = declare_incident(
        actor=ops, title="Maybe fibre", services=[places.fibre], areas=[places.stockholm]
    )
    Incident.objects.filter(pk=incident.incident.pk).update(status=Incident.Status.PROPOSED)
    code, body = page("111 22")
    assert code == 200 and "Maybe fibre" not in body
    [fibre, _email] = status.uptime_bars(places.norrmalm, [places.fibre, places.email])
    assert fibre.outage_days == 0
    assert "Maybe fibre" not in Client().get("/status/area/se-11122/feed/").content.decode()
