"""Story 5 on the customer's side: writing about a subscription whose service we do not deliver where
it is, the contact form says so before they write (they may still write), by the same rule as the
agent's flag (``customers.selectors.delivered_at``); signed out, the confirmation page says it once
we know who wrote."""

from __future__ import annotations

import pytest

from customers.models import Area
from tests import factories
from tests.conftest import make_user
from tests.factories import logged_in
from tickets.models import ContactRequest

pytestmark = pytest.mark.core


@pytest.fixture
def cottage(db):
    """A customer with e-mail at home and 4G at a summer cottage where we deliver DSL only."""
    from core import roles

    se = factories.AreaFactory(code="se", name="Sweden", kind=Area.Kind.COUNTRY, parent=None)
    village = factories.AreaFactory(
        code="se-h-0880", name="Kalmar", names={"sv": "Kalmar"}, kind=Area.Kind.MUNICIPALITY, parent=se
    )
    dsl = factories.ServiceFactory(code="dsl", name="DSL")
    mobile = factories.ServiceFactory(
        code="mobile-4g", name="4G broadband", names={"sv": "Mobilt bredband 4G"}
    )
    village.services.set([dsl])
    customer = factories.CustomerFactory(user=make_user("karin", roles.CUSTOMER), language="sv")
    sold_wrong = factories.SubscriptionFactory(customer=customer, service=mobile, area=village)
    fine = factories.SubscriptionFactory(customer=customer, service=dsl, area=village)
    return customer, sold_wrong, fine


def known(customer, subscription) -> str:
    return (
        logged_in(customer.user)
        .get("/my/tickets/new/known/", {"subscription": subscription.pk})
        .content.decode()
    )


def test_the_form_warns_when_the_chosen_service_is_not_delivered_where_it_is(cottage):
    customer, sold_wrong, fine = cottage
    html = known(customer, sold_wrong)
    assert 'data-testid="not-delivered"' in html
    assert "levererar vi inte Mobilt bredband 4G i Kalmar" in html  # in Karin's Swedish
    assert 'data-testid="not-delivered"' not in known(customer, fine)


def test_the_warning_does_not_stop_the_customer_writing(cottage):
    customer, sold_wrong, fine = cottage
    client = logged_in(customer.user)
    page = client.get("/my/tickets/new/").content.decode()
    assert 'data-testid="not-delivered"' not in page  # nothing chosen yet
    response = client.post(
        "/my/tickets/new/",
        {
            "subscription": sold_wrong.pk,
            "category": "technical",
            "subject": "Ingen 4G",
            "description": "Inget nät.",
        },
    )
    assert response.status_code == 302
    assert customer.tickets.get().service == sold_wrong.service


def test_a_form_shown_again_warns_without_javascript(cottage):
    customer, sold_wrong, fine = cottage
    page = (
        logged_in(customer.user)
        .post("/my/tickets/new/", {"subscription": sold_wrong.pk, "category": "technical", "subject": ""})
        .content.decode()
    )
    assert 'data-testid="not-delivered"' in page


def test_another_customers_subscription_tells_nothing(cottage, bob):
    customer, sold_wrong, fine = cottage
    assert 'data-testid="not-delivered"' not in known(bob, sold_wrong)


def test_signed_out_the_confirmation_page_says_it_once_we_know_who_wrote(cottage, client):
    from tickets.contact import contact_token

    customer, sold_wrong, fine = cottage
    request = ContactRequest.objects.create(
        customer=customer,
        email=customer.email,
        category="technical",
        service=sold_wrong.service,
        subject="Ingen 4G",
        description="Inget nät i stugan.",
    )
    page = client.post(f"/contact/confirm/{contact_token(request.pk)}/").content.decode()
    assert 'data-testid="not-delivered"' in page
