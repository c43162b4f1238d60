"""Fixtures for the incidents tests: a small catalogue with an area tree and a way to open tickets."""

from __future__ import annotations

import pytest

from customers.models import Area
from tests import factories


@pytest.fixture
def catalogue(db):
    """Services, equipment and an area tree: Sweden → Stockholm → {Solna, Täby}; Sweden → Göteborg."""
    se = factories.AreaFactory(code="se", name="Sweden", kind=Area.Kind.COUNTRY, parent=None)
    sthlm = factories.AreaFactory(code="se-ab", name="Stockholm", kind=Area.Kind.REGION, parent=se)
    gbg = factories.AreaFactory(code="se-o", name="Göteborg", kind=Area.Kind.REGION, parent=se)

    class C:
        broadband = factories.ServiceFactory(code="broadband")
        email = factories.ServiceFactory(code="email")
        iptv = factories.ServiceFactory(code="iptv")
        sweden = se
        stockholm = sthlm
        solna = factories.AreaFactory(code="se-ab-solna", name="Solna", parent=sthlm)
        taby = factories.AreaFactory(code="se-ab-taby", name="Täby", parent=sthlm)
        goteborg = gbg
        hisingen = factories.AreaFactory(code="se-o-hisingen", name="Hisingen", parent=gbg)
        zyxel = factories.EquipmentFactory(code="zyxel-vmg8825", vendor="ZyXEL", model="VMG8825")
        fritz = factories.EquipmentFactory(code="fritzbox-7590", vendor="AVM", model="FRITZ!Box 7590")

    return C


@pytest.fixture
def ticket_in(catalogue):
    """Open a ticket for a new customer whose one subscription has the given service/area/equipment."""

    def make(service=None, area=None, equipment=None, **fields):
        sub = factories.SubscriptionFactory(
            service=service or catalogue.broadband,
            area=area or catalogue.solna,
            equipment=equipment or catalogue.zyxel,
        )
        return factories.open_ticket(customer=sub.customer, **fields)

    return make
