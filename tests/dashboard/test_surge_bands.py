"""The dashboard's chart shades declared incidents only: a proposal from a surge is not one yet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.selectors import Window, incident_bands
from incidents import surge
from tests.incidents.test_surge import report, tree  # noqa: F401 - the area tree fixture

pytestmark = pytest.mark.postgres


def test_a_proposal_is_not_shaded_until_ops_confirm_it(tree, ops):  # noqa: F811
    for _ in range(5):
        report(tree, area=tree.norrmalm)
    (proposal,) = surge.detect_surges().proposed
    now = timezone.now()
    window = Window(key="today", start=now - timedelta(hours=1), end=now + timedelta(minutes=1), step="hour")

    assert incident_bands(window) == []
    surge.surge_confirm(incident=proposal.incident, actor=ops)
    assert [band["id"] for band in incident_bands(window)] == [proposal.incident_id]
