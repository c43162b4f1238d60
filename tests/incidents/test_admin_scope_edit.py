"""A scope edited outside the incident services (the Django admin, a shell) refreshes what depends
on it: the next ticket is matched with reasons from the new scope, and the admin edit re-links."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from incidents.matching import REASON_SCOPE_NARROWED
from incidents.models import Incident, IncidentTicketLink
from tests.factories import declare_incident


def reasons(incident, ticket) -> dict:
    return IncidentTicketLink.objects.get(incident=incident, ticket=ticket, detached_at__isnull=True).reasons


def _split(name: str, value) -> dict:
    """A datetime as the admin's split date/time widget posts it."""
    if value is None:
        return {f"{name}_0": "", f"{name}_1": ""}
    local = timezone.localtime(value)
    return {f"{name}_0": local.date().isoformat(), f"{name}_1": local.time().isoformat()}


def _admin_data(incident: Incident) -> dict:
    """The incident's admin change form as it is filled in now."""
    return {
        "title": incident.title,
        "kind": incident.kind,
        "severity": incident.severity,
        "status": incident.status,
        "source": incident.source,
        "external_key": incident.external_key or "",
        "description": incident.description,
        "public_message": json.dumps(incident.public_message),
        "agent_script": json.dumps(incident.agent_script),
        "workaround": json.dumps(incident.workaround),
        "services": [s.pk for s in incident.services.all()],
        "areas": [a.pk for a in incident.areas.all()],
        "equipment": [e.pk for e in incident.equipment.all()],
        "keywords": json.dumps(incident.keywords),
        "created_by": incident.created_by_id or "",
        **{
            k: v
            for name in ("started_at", "detected_at", "eta", "resolved_at", "created_at", "updated_at")
            for k, v in _split(name, getattr(incident, name)).items()
        },
        "updates-TOTAL_FORMS": "0",
        "updates-INITIAL_FORMS": "0",
        "updates-MIN_NUM_FORMS": "0",
        "updates-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }


def admin_change(client, incident: Incident, **changes) -> None:
    """POST the incident's admin change form with its current values, ``changes`` applied."""
    data = {**_admin_data(incident), **changes}
    response = client.post(reverse("admin:incidents_incident_change", args=[incident.pk]), data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors


@pytest.fixture
def superuser_client(client, db):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root"))
    return client


def test_an_admin_scope_edit_gives_the_next_ticket_the_new_reasons(
    catalogue, ticket_in, ops, superuser_client
):
    incident = declare_incident(actor=ops, services=[catalogue.email], areas=[catalogue.stockholm]).incident
    # A first ticket matched in this process: the incident's scope is now in the scope cache.
    solna = ticket_in(service=catalogue.email, area=catalogue.solna, subject="Outlook offline")
    assert reasons(incident, solna)["area"] == ["se-ab"]

    admin_change(superuser_client, incident, areas=[catalogue.sweden.pk])

    hisingen = ticket_in(service=catalogue.email, area=catalogue.hisingen, subject="Outlook offline")
    assert reasons(incident, hisingen)["area"] == ["se"]
    assert reasons(incident, hisingen)["service"] == ["email"]


def test_an_admin_scope_edit_re_links_like_any_scope_change(catalogue, ticket_in, ops, superuser_client):
    incident = declare_incident(actor=ops, services=[catalogue.email], areas=[catalogue.stockholm]).incident
    solna = ticket_in(service=catalogue.email, area=catalogue.solna, subject="No mail")
    hisingen = ticket_in(service=catalogue.email, area=catalogue.hisingen, subject="Outlook offline")
    assert not IncidentTicketLink.objects.filter(incident=incident, ticket=hisingen).exists()

    admin_change(superuser_client, incident, areas=[catalogue.sweden.pk], keywords=json.dumps(["outlook"]))

    # Widened to Sweden: the Göteborg ticket is linked; narrowed to "outlook": the Solna one is not.
    assert reasons(incident, hisingen) == reasons(
        incident, ticket_in(service=catalogue.email, area=catalogue.taby, subject="outlook?")
    )
    assert reasons(incident, hisingen)["keywords"] == ["outlook"]
    row = IncidentTicketLink.objects.get(incident=incident, ticket=solna)
    assert row.detached_at is not None and row.detach_reason == REASON_SCOPE_NARROWED


def test_an_admin_edit_that_leaves_the_scope_alone_links_nothing_new(
    catalogue, ticket_in, ops, superuser_client
):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    ticket_in(service=catalogue.email)
    before = set(IncidentTicketLink.objects.values_list("incident_id", "ticket_id", "detached_at"))
    admin_change(superuser_client, incident, title="Mail platform down (renamed)")
    assert set(IncidentTicketLink.objects.values_list("incident_id", "ticket_id", "detached_at")) == before
    assert Incident.objects.get(pk=incident.pk).title == "Mail platform down (renamed)"


def test_a_scope_changed_directly_on_the_model_refreshes_the_reasons(catalogue, ticket_in, ops):
    incident = declare_incident(actor=ops, services=[catalogue.email], areas=[catalogue.stockholm]).incident
    first = ticket_in(service=catalogue.email, area=catalogue.solna)
    assert reasons(incident, first)["area"] == ["se-ab"]
    version = Incident.objects.get(pk=incident.pk).updated_at

    catalogue.sweden.incidents.add(incident)  # from the area's side: a reverse M2M change
    assert Incident.objects.get(pk=incident.pk).updated_at > version
    assert reasons(incident, ticket_in(service=catalogue.email, area=catalogue.solna))["area"] == [
        "se",
        "se-ab",
    ]

    incident.areas.clear()
    incident.services.remove(catalogue.email)
    incident.services.add(catalogue.iptv)
    second = ticket_in(service=catalogue.iptv, area=catalogue.hisingen)
    assert "area" not in reasons(incident, second)
    assert reasons(incident, second)["service"] == ["iptv"]


def test_an_admin_edit_that_empties_the_scope_needs_the_every_customer_box(
    catalogue, ticket_in, ops, superuser_client
):
    incident = declare_incident(actor=ops, services=[catalogue.email]).incident
    other = ticket_in(service=catalogue.iptv, area=catalogue.hisingen)
    data = {"services": []}

    response = superuser_client.post(
        reverse("admin:incidents_incident_change", args=[incident.pk]),
        {**_admin_data(incident), **data},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "affects_everyone" in response.context["adminform"].form.errors
    assert list(Incident.objects.get(pk=incident.pk).services.all()) == [catalogue.email]

    admin_change(superuser_client, incident, affects_everyone="on", **data)
    assert IncidentTicketLink.objects.filter(
        incident=incident, ticket=other, detached_at__isnull=True
    ).exists()
