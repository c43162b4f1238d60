"""Demo and scale data for a believable Nordic operator (Sweden and Finland), in three layers, each
idempotent:

* ``catalogue`` — services, the area tree with service availability per leaf, equipment models
  (literal data) and ``ensure_catalogue()``; ``words`` — the names and ticket texts generated
  customers are made of;
* ``bulk`` — ``load_scale_data(customers=N)``: N generated customers with phones, subscriptions and
  tickets, written with COPY on PostgreSQL;
* ``demo`` — ``seed_demo()``: the above plus demo logins, named customers and the demo incidents,
  told through the desk's services.

Callers (``manage.py seed_demo``, ``bench/``, tests) import from here.
"""

from __future__ import annotations

from supportdesk.seeding.bulk import SCALE_NUMBER_PREFIX, ScaleResult, load_scale_data
from supportdesk.seeding.catalogue import KNOWN_DEFECT_EQUIPMENT, Catalogue, ensure_catalogue
from supportdesk.seeding.demo import (
    DEMO_CUSTOMERS,
    DEMO_LOGINS,
    EMAIL_OUTAGE_TITLE,
    KNOWN_ISSUE_TITLE,
    DemoLogin,
    DemoResult,
    flush_desk_data,
    seed_demo,
)

__all__ = [
    "DEMO_CUSTOMERS",
    "DEMO_LOGINS",
    "EMAIL_OUTAGE_TITLE",
    "KNOWN_DEFECT_EQUIPMENT",
    "KNOWN_ISSUE_TITLE",
    "SCALE_NUMBER_PREFIX",
    "Catalogue",
    "DemoLogin",
    "DemoResult",
    "ScaleResult",
    "ensure_catalogue",
    "flush_desk_data",
    "load_scale_data",
    "seed_demo",
]
