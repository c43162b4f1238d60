"""Named reads about the catalogue: finding a place from what a person types, and what we sell there."""

from __future__ import annotations

import operator
import re
from functools import reduce

from django.db.models import Case, Q, QuerySet, Value, When

from core.languages import LANGUAGE_CODES
from customers.models import Area, Service

# Postcodes as people type them: "111 22", "11122", "00100", "FI-00100", "SE 111 22".
_POSTCODE = re.compile(r"^(?:(?P<country>se|fi)[\s-]*)?(?P<digits>[0-9][0-9 ]{3,6}[0-9])$", re.IGNORECASE)


def find_place(query: str) -> Area | None:
    """The area a person means by ``query``: a postcode (with or without its space, optionally with
    its country), an area code (``se-ab-0180``), or a place name (exact first, then the broadest
    containing it). Two queries at most; None when nothing fits."""
    query = " ".join(query.split())[:120]
    if not query:
        return None
    if match := _POSTCODE.match(query):
        digits = match["digits"].replace(" ", "")
        country = (match["country"] or "").lower()
        codes = [f"{country}-{digits}"] if country else [f"se-{digits}", f"fi-{digits}"]
        return Area.objects.filter(code__in=codes).order_by("path").first()
    exact = Q(code=query.lower()) | Q(name__iexact=query)
    named = Q(name__icontains=query) | reduce(
        operator.or_, (Q(**{f"names__{lang}__icontains": query}) for lang in LANGUAGE_CODES)
    )
    return (
        Area.objects.filter(exact | named)
        .annotate(exact=Case(When(exact, then=Value(0)), default=Value(1)))
        .order_by("exact", "depth", "path")
        .first()
    )


def services_at(area: Area) -> QuerySet[Service]:
    """The services we can deliver somewhere in ``area``: those offered on the area itself, on an
    area above it, or on any area below it (a municipality has what its postcodes have). One query."""
    return (
        Service.objects.filter(
            Q(areas__path__in=area.ancestor_paths()) | Q(areas__path__startswith=area.path)
        )
        .distinct()
        .order_by("name")
    )


def delivered_at(*, service_id: int, area: Area) -> bool:
    """We deliver the service somewhere in ``area`` (``services_at``'s rule; one query). The desk's
    flag on a ticket and the customer's warning on the contact form both ask here."""
    return services_at(area).filter(pk=service_id).exists()
