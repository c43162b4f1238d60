"""Observes every request's server time for /metrics (dashboard.metrics.REQUEST_LATENCY)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from dashboard.metrics import REQUEST_LATENCY

# Clients choose the method string: only these become labels.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestLatencyMiddleware:
    """Labels by route pattern (``ops/incidents/<int:pk>/``), never by the raw path, so the number
    of series stays bounded; unresolved paths count as ``<unmatched>``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None else "<unmatched>"
        method = request.method if request.method in _METHODS else "other"
        REQUEST_LATENCY.labels(method, route, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response
