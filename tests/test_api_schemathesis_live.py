"""Schemathesis's own CLI against the desk as it is served: daphne, over loopback HTTP, reading the
OpenAPI document from ``/api/schema/`` the way an integrator's tooling would. Every operation, as an
anonymous caller, a customer and a staff member holding every staff role, gets generated requests
(valid and invalid against the schema, boundary values included) and must never answer with a 5xx.

This complements tests/test_api_schemathesis.py (in-process, with conformance checks): here the
server's middleware stack, ASGI adapter, throttles on Redis and real connections are all in the
loop. A control run against a URLconf with a failing endpoint proves the check can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from core import roles
from tests import factories, processes
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

# Examples per operation; generation is deterministic, so a failure reproduces run after run.
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_LIVE_MAX_EXAMPLES", "5")
ST = Path(sys.executable).with_name("st")


def run_schemathesis(
    base_url: str, tmp_path: Path, *, headers: list[str], phases: str, only_path: str | None = None
) -> subprocess.CompletedProcess:
    """``st run`` with only the 5xx check (the in-process test checks conformance), one worker so
    the run is repeatable; returns the finished process with its output."""
    args = [str(ST), "run", f"{base_url}/api/schema/", "--checks", "not_a_server_error", "--phases", phases]
    args += ["--max-examples", MAX_EXAMPLES, "--generation-deterministic"]
    args += ["--workers", "1", "--request-timeout", "30", "--no-color", "--max-failures", "5"]
    args += ["--report-dir", str(tmp_path)]
    for header in headers:
        args += ["--header", header]
    if only_path:
        args += ["--include-path", only_path]
    return subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=tmp_path)


@pytest.fixture
def personas(alice):
    """Header lists for each caller, with data for their look-ups to find (a ticket, an incident)."""
    staff = make_user("stina", *roles.STAFF_ROLES)
    service = factories.ServiceFactory(code="email")
    factories.open_ticket(customer=alice, service=service)
    factories.declare_incident(actor=staff, services=[service])
    return {
        "anonymous": [],
        "customer": [f"Authorization: Token {Token.objects.create(user=alice.user).key}"],
        "staff": [f"Authorization: Token {Token.objects.create(user=staff).key}"],
    }


# Generated requests only (about 175 per persona): the in-process test already walks the schema's
# boundary values (the coverage phase is ~3,000 cases for staff, a minute and more over HTTP).
PHASES = {"anonymous": "fuzzing", "customer": "fuzzing", "staff": "fuzzing"}


def test_no_operation_of_the_served_api_answers_a_5xx(asgi_server, personas, tmp_path):
    for persona, headers in personas.items():
        result = run_schemathesis(asgi_server, tmp_path, headers=headers, phases=PHASES[persona])
        assert result.returncode == 0, f"{persona}:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
        # It really ran the operations (a schema that failed to load also exits quickly).
        assert "/api/v1/tickets/" in result.stdout, result.stdout[-3000:]


def test_the_live_run_fails_on_a_server_error(transactional_db, tmp_path):
    """The control: the same run against a server whose URLconf adds an endpoint that raises."""
    proc, base_url = processes.start_daphne(DJANGO_SETTINGS_MODULE="tests.settings_failing")
    try:
        result = run_schemathesis(
            base_url, tmp_path, headers=[], phases="coverage,fuzzing", only_path="/api/v1/failing/"
        )
    finally:
        processes.stop(proc)
    assert result.returncode != 0, result.stdout[-3000:]
    assert "/api/v1/failing/" in result.stdout and "Server error" in result.stdout, result.stdout[-3000:]
