"""The database refuses bad states, whatever code path writes them."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import Area, Service
from incidents.models import Incident, IncidentTicketLink
from tests import factories
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.core]


def test_service_codes_are_unique():
    Service.objects.create(code="email", name="E-mail")
    with pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.create(code="email", name="Mail again")


def test_area_path_is_the_chain_of_codes_and_subtree_is_a_prefix_query():
    stockholm = factories.AreaFactory(code="se-ab-0180", name="Stockholm")
    postcode = Area.objects.create(code="11122", name="11122", kind=Area.Kind.POSTCODE, parent=stockholm)
    other = factories.AreaFactory(code="se-ab-0184", name="Solna")
    assert postcode.path == "se/se-ab/se-ab-0180/11122/"
    assert postcode.depth == 3
    region = Area.objects.get(code="se-ab")
    assert set(region.subtree().values_list("code", flat=True)) == {
        "se-ab",
        "se-ab-0180",
        "11122",
        "se-ab-0184",
    }
    assert set(stockholm.subtree().values_list("code", flat=True)) == {"se-ab-0180", "11122"}
    assert other not in stockholm.subtree()
    assert [a.code for a in postcode.ancestors()] == ["se", "se-ab", "se-ab-0180", "11122"]


def test_ticket_reference_is_sd_and_its_id_and_finds_it_back():
    ticket = factories.open_ticket()
    assert ticket.reference == f"SD-{ticket.pk}"
    assert Ticket.objects.by_reference(ticket.reference).get() == ticket
    assert Ticket.objects.by_reference(f"sd-{ticket.pk}").get() == ticket
    assert not Ticket.objects.by_reference("SD-x").exists()
    assert not Ticket.objects.by_reference("123").exists()


@pytest.mark.parametrize(
    "field,value",
    [
        ("status", "lost"),
        ("category", "gossip"),
        ("channel", "pigeon"),
        ("queue", "nowhere"),
        ("priority", 9),
    ],
)
def test_ticket_refuses_values_outside_its_choices(field, value):
    ticket = factories.open_ticket()
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(**{field: value})


def test_a_resolved_ticket_must_say_when():
    ticket = factories.open_ticket()
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(status="resolved", resolved_at=None)


def test_an_incident_is_resolved_exactly_when_it_has_a_resolved_time():
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(title="x", kind="outage", status="resolved")
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(title="x", kind="outage", status="investigating", resolved_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(title="x", kind="volcano")


def test_an_incident_links_a_ticket_at_most_once():
    ticket = factories.open_ticket()
    incident = Incident.objects.create(title="Mail down", kind="outage")
    IncidentTicketLink.objects.create(incident=incident, ticket=ticket)
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentTicketLink.objects.create(incident=incident, ticket=ticket, origin="agent")
