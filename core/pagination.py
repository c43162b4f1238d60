"""The API's one paginator: bounded pages and strictly parsed ``limit``/``offset``."""

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination

from core.parsing import parse_int


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=&offset=`` with ``limit`` in ``1..API_MAX_PAGE_SIZE`` (default ``PAGE_SIZE``) and
    ``offset`` at most ``API_MAX_OFFSET``.

    Anything else is a 400 naming the parameter: an unbounded page is a denial of service, and
    DRF's own parsing falls back silently (and lets a huge offset reach the database as a 500)."""

    def get_limit(self, request) -> int:
        self.max_limit = settings.API_MAX_PAGE_SIZE
        raw = request.query_params.get(self.limit_query_param)
        if raw is None or raw == "":
            return min(self.default_limit or settings.API_MAX_PAGE_SIZE, self.max_limit)
        return parse_int(raw, field=self.limit_query_param, minimum=1, maximum=self.max_limit)

    def get_offset(self, request) -> int:
        raw = request.query_params.get(self.offset_query_param)
        if raw is None or raw == "":
            return 0
        return parse_int(raw, field=self.offset_query_param, maximum=settings.API_MAX_OFFSET)
