"""Story 5 on the agent's screen: the look-up says what we deliver at the caller's address, and a
ticket about a service we do not deliver in its area is flagged before anyone troubleshoots it."""

from __future__ import annotations

import pytest

from customers.models import Area
from tests import factories
from tests.factories import logged_in

pytestmark = pytest.mark.core


@pytest.fixture
def cottage(db):
    """A summer cottage where we deliver DSL only, sold 4G anyway."""
    se = factories.AreaFactory(code="se", name="Sweden", kind=Area.Kind.COUNTRY, parent=None)
    village = factories.AreaFactory(code="se-h-0880", name="Kalmar", kind=Area.Kind.MUNICIPALITY, parent=se)
    dsl = factories.ServiceFactory(code="dsl", name="DSL")
    mobile = factories.ServiceFactory(code="mobile-4g", name="4G broadband")
    village.services.set([dsl])
    subscription = factories.SubscriptionFactory(service=mobile, area=village)
    return subscription, dsl, mobile


def test_the_look_up_says_what_we_deliver_at_the_callers_address(cottage, agent):
    subscription, dsl, mobile = cottage
    page = logged_in(agent).get("/desk/lookup/", {"q": subscription.customer.number}).content.decode()
    assert "Available at the address" in page
    assert "<strong>Kalmar</strong>: DSL</p>" in page


def test_a_ticket_about_a_service_not_delivered_in_its_area_is_flagged(cottage, agent):
    subscription, dsl, mobile = cottage
    sold_wrong = factories.open_ticket(customer=subscription.customer, subscription=subscription)
    page = logged_in(agent).get(f"/desk/tickets/{sold_wrong.reference}/").content.decode()
    assert 'data-testid="service-unavailable"' in page
    assert "we do not deliver 4G broadband in Kalmar" in page

    fine = factories.open_ticket(customer=subscription.customer, service=dsl, area=subscription.area)
    assert (
        'data-testid="service-unavailable"'
        not in logged_in(agent).get(f"/desk/tickets/{fine.reference}/").content.decode()
    )
