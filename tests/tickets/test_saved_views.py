"""Saved views: an agent saves a queue's filters under a name, and reopens them as a tab; their own,
or shared with the team."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests import factories
from tests.conftest import make_user
from tickets.models import SavedView, Ticket

pytestmark = [pytest.mark.django_db]


def save(client, query: str, name: str, shared: bool = False):
    data = {"query": query, "name": name}
    if shared:
        data["shared"] = "1"
    return client.post(reverse("tickets:queue_view_save"), data)


def tabs(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", t).split()[0] for t in re.findall(r'data-testid="saved-view">(.*?)</a>', html)
    ]


def test_an_agent_saves_the_queues_filters_and_reopens_them_as_a_tab(client, agent):
    billing = factories.open_ticket(subject="Invoice twice", category=Ticket.Category.BILLING)
    technical = factories.open_ticket(subject="Router blinks red")
    client.force_login(agent)

    # The page's own query string, with a cursor that must not be kept.
    response = save(client, "queue=billing&category=billing&order=age&after=123_4&bogus=1", "Invoices")
    view = SavedView.objects.get(owner=agent)
    assert view.query == "queue=billing&order=age&category=billing"
    assert response.status_code == 302
    assert response.url == reverse("tickets:queue") + "?" + view.query

    html = client.get(response.url).content.decode()
    assert tabs(html) == ["Invoices"]
    assert 'class="saved-view current"' in html
    assert billing.reference in html and technical.reference not in html


def test_saving_under_the_same_name_replaces_the_view(client, agent):
    client.force_login(agent)
    save(client, "status=new", "Mine")
    save(client, "status=open", "  Mine ")
    assert list(SavedView.objects.values_list("name", "query")) == [("Mine", "status=open")]


def test_a_view_without_a_name_is_refused_with_a_message(client, agent):
    client.force_login(agent)
    response = save(client, "status=new", "   ")
    assert response.status_code == 302
    assert not SavedView.objects.exists()
    assert "Give the view a name." in client.get(response.url).content.decode()


def test_views_are_personal_unless_shared_with_the_team(client, agent, tech):
    client.force_login(agent)
    save(client, "status=new", "Private")
    save(client, "unassigned=1", "Team", shared=True)

    client.force_login(tech)
    html = client.get(reverse("tickets:queue")).content.decode()
    assert tabs(html) == ["Team"]
    assert "· anna" in html  # whose it is


def test_only_the_owner_deletes_a_view(client, agent, tech):
    view = SavedView.objects.create(owner=agent, name="Team", query="unassigned=1", shared=True)
    client.force_login(tech)
    assert client.post(reverse("tickets:queue_view_delete", args=[view.pk])).status_code == 404
    client.force_login(agent)
    assert client.post(reverse("tickets:queue_view_delete", args=[view.pk])).status_code == 302
    assert not SavedView.objects.exists()


def test_customers_cannot_save_views(client, alice):
    client.force_login(alice.user)
    assert save(client, "status=new", "Nope").status_code == 403
    assert not SavedView.objects.exists()


def test_saved_views_cost_one_query_however_many(client, agent, django_assert_num_queries):
    client.force_login(agent)
    colleague = make_user("carl", "agent")
    for i in range(12):
        SavedView.objects.create(
            owner=agent if i % 2 else colleague, name=f"v{i}", query=f"status=new&area={i}", shared=True
        )
    client.get(reverse("tickets:queue"))
    with django_assert_num_queries(11):  # 9 + the bulk bar's incidents and canned replies
        html = client.get(reverse("tickets:queue")).content.decode()
    assert len(tabs(html)) == 12
