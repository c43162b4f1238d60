"""Schemathesis over the OpenAPI document (drf-spectacular): for every operation, generated requests
— valid and invalid against the schema — sent as an anonymous caller, a customer and a staff member
never get a 5xx, and a successful answer has the status code and content type the schema documents.

Bounded so CI stays fast: ``SCHEMATHESIS_MAX_EXAMPLES`` examples per operation (default 5),
derandomized, so a run is repeatable; raise it locally to search harder.
"""

from __future__ import annotations

import json
import os

import pytest

try:
    import schemathesis
except ImportError:  # a dev dependency (pyproject.toml): CI installs it, so there it must be present
    if os.environ.get("CI") or os.environ.get("SUPPORTDESK_REQUIRE_SERVICES"):
        raise
    pytest.skip("schemathesis is not installed (make install)", allow_module_level=True)

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import close_old_connections  # noqa: E402
from drf_spectacular.generators import SchemaGenerator  # noqa: E402
from drf_spectacular.renderers import OpenApiJsonRenderer  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from schemathesis import checks  # noqa: E402

from core import roles  # noqa: E402
from tests import factories  # noqa: E402
from tests.conftest import make_user  # noqa: E402

pytestmark = [pytest.mark.django_db, pytest.mark.core]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5"))

# The document as /api/schema/ serves it, built in-process (no server, no database needed for it).
_document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
schema = schemathesis.openapi.from_dict(_document)
schema.app = WSGIHandler()


@pytest.fixture
def _in_test_transaction():
    """Requests go straight to Django's WSGI handler, which closes the database connection after each
    one; the test's transaction lives on that connection. Django's test client unhooks the same."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def callers(alice, settings, _in_test_transaction):
    """Headers for each persona: anonymous, a customer and a staff member holding every staff role,
    with data for their lookups to find (a ticket, an incident)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    staff = make_user("stina", *roles.STAFF_ROLES)
    service = factories.ServiceFactory(code="email")
    factories.open_ticket(customer=alice, service=service)
    factories.declare_incident(actor=staff, services=[service])
    return {
        "anonymous": {},
        "customer": {"Authorization": f"Token {Token.objects.create(user=alice.user).key}"},
        "staff": {"Authorization": f"Token {Token.objects.create(user=staff).key}"},
    }


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_a_generated_request_with_a_5xx(case, callers):
    for persona, headers in callers.items():
        response = case.call(headers={**(case.headers or {}), **headers})
        case.validate_response(response, checks=[checks.not_a_server_error])
        if 200 <= response.status_code < 300:
            case.validate_response(
                response,
                checks=[
                    schemathesis.specs.openapi.checks.status_code_conformance,
                    schemathesis.specs.openapi.checks.content_type_conformance,
                ],
            )
