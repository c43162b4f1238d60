"""The dashboard tests reuse the incidents tests' small catalogue (an area tree, three services)."""

from __future__ import annotations

from tests.incidents.conftest import catalogue, ticket_in  # noqa: F401 - fixtures
