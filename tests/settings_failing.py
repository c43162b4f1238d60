"""The site's settings with tests/urls_failing.py as the URLconf: for a served process whose API has
an endpoint that raises (the control of tests/test_api_schemathesis_live.py)."""

from supportdesk.settings import *  # noqa: F403

ROOT_URLCONF = "tests.urls_failing"
