"""Equipment names per language, like services' and places': what sv/fi customers and staff read, with
English and then vendor + model as the fallback; edited in the admin one box per language."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from customers.models import EquipmentModel
from tests import factories
from tests.factories import logged_in

pytestmark = [pytest.mark.core, pytest.mark.django_db]


@pytest.fixture
def box():
    return factories.EquipmentFactory(
        code="amino-kamai7",
        vendor="Amino",
        model="Kamai 7 set-top box",
        firmware="18.3.1",
        names={"sv": "Amino Kamai 7 tv-box", "fi": "Amino Kamai 7 -digiboksi"},
    )


def test_the_name_is_the_readers_then_english_then_vendor_and_model(box):
    assert box.name_in("fi") == "Amino Kamai 7 -digiboksi"
    assert box.name_in("en") == "Amino Kamai 7 set-top box"  # no English name: vendor and model
    box.names["en"] = "Amino Kamai 7 TV box"
    assert box.name_in("en") == "Amino Kamai 7 TV box"
    del box.names["sv"]
    assert box.name_in("sv") == "Amino Kamai 7 TV box"  # English, never Finnish, for a Swede


def test_a_finnish_customer_picks_their_subscription_by_the_boxs_finnish_name(box, bob):
    iptv = factories.ServiceFactory(code="iptv", name="IPTV", names={"fi": "IPTV"})
    factories.SubscriptionFactory(customer=bob, service=iptv, equipment=box, address="Kotikatu 1")
    page = logged_in(bob.user).get("/my/tickets/new/").content.decode()  # Bob reads Finnish
    assert "IPTV — Kotikatu 1 · Amino Kamai 7 -digiboksi" in page
    assert "set-top box" not in page


def test_staff_read_it_in_their_language_with_the_firmware(box, agent, alice):
    subscription = factories.SubscriptionFactory(customer=alice, equipment=box)
    ticket = factories.open_ticket(customer=alice, subscription=subscription)
    client = logged_in(agent)
    client.cookies["django_language"] = "sv"
    page = client.get(f"/desk/tickets/{ticket.reference}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert 'Amino Kamai 7 tv-box <span class="muted">(18.3.1)</span>' in page


def test_an_admin_edits_the_names_one_box_per_language(client, box):
    client.force_login(User.objects.create_superuser("root", password="pw-root"))
    url = reverse("admin:customers_equipmentmodel_change", args=[box.pk])
    form = client.get(url).content.decode()
    assert 'name="name_fi"' in form and 'value="Amino Kamai 7 -digiboksi"' in form
    response = client.post(
        url,
        {
            "code": box.code,
            "vendor": box.vendor,
            "model": box.model,
            "firmware": box.firmware,
            "name_sv": "Amino Kamai 7 digitalbox",
            "name_fi": "  ",
            "name_en": "Amino Kamai 7 set-top box",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    box.refresh_from_db()
    assert box.names == {"sv": "Amino Kamai 7 digitalbox", "en": "Amino Kamai 7 set-top box"}
    assert EquipmentModel.objects.get(pk=box.pk).name_in("fi") == "Amino Kamai 7 set-top box"
