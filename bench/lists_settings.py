"""Settings for bench/bench_lists_http.py: the desk's own, plus the old paginator's endpoint
(``bench/lists_urls.py``) so that both are measured by one server in one run. Not for production."""

from supportdesk.settings import *  # noqa: F403

ROOT_URLCONF = "lists_urls"
