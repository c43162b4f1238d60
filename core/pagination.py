"""The API's one paginator: keyset ("cursor") pages of a bounded size, never a COUNT(*) nor an OFFSET.

DESIGN.md: "Lists are paged by cursor with a bounded page size." A page is the rows after (or, for
``previous``, before) the sort key of the row a cursor points at, read straight from an index in
that order: page 20,000 costs what page 1 does, and a row inserted or removed while a client pages
shifts nothing. Each list names its order (``KeysetPagination.ordering``): columns that end in a
unique one (usually ``id``), all in one direction, matching an index that also leads with the
list's equality filters. A view sets ``pagination_class = keyset(...)``; generic list views page
by themselves, ``APIView`` lists call ``paginate(self, queryset, serialize)`` (the OpenAPI schema
reads the same ``pagination_class``).

A cursor is opaque to clients (base64url of the sort key as JSON); it is parsed strictly, so a
malformed, truncated or hand-made one is a 400 naming ``cursor``, never a 500. Page size:
``?page_size=`` (``?limit=`` is accepted as its older name) in ``1..API_MAX_PAGE_SIZE``. A client
still sending ``?offset=`` gets a 400 that tells it to follow ``next``.

No list counts its rows. Lists over the large tables (tickets, links, credits) carry
``total_estimate``: PostgreSQL's planner estimate of the rows the filtered list holds (from the
table statistics, one EXPLAIN, no scan) — labelled as an estimate in the schema, null elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections import OrderedDict
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models.fields.tuple_lookups import TupleGreaterThan, TupleLessThan
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.errors import DomainError
from core.parsing import MAX_INT, has_unstorable, parse_int

# A cursor we give out is well under this; anything longer is not one of ours (and is not decoded).
MAX_CURSOR_LENGTH = 512


def _bad_cursor() -> DomainError:
    return DomainError(
        _("This cursor is not one this list gave out: start from the first page and follow next."),
        field="cursor",
    )


def _encode_value(value):
    """One sort-key value as JSON."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date | Decimal):
        return str(value)
    return value


def _decode_value(field: models.Field, raw):
    """One sort-key value back from JSON, or ``DomainError`` (400) if it is not what ``field`` holds."""
    if isinstance(field, models.DateTimeField):
        if not isinstance(raw, str) or len(raw) > 40:
            raise _bad_cursor()
        try:
            value = field.to_python(raw)
            if value is None or timezone.is_naive(value):
                raise _bad_cursor()
            return value.astimezone(dt.UTC)  # the years at the ends of the range overflow here, not in SQL
        except (ValidationError, ValueError, OverflowError):
            raise _bad_cursor() from None
    if isinstance(field, models.IntegerField | models.AutoField | models.ForeignKey):
        if type(raw) is not int or not -MAX_INT <= raw <= MAX_INT:
            raise _bad_cursor()
        return raw
    if isinstance(field, models.CharField | models.TextField):
        if not isinstance(raw, str) or has_unstorable(raw) or len(raw) > 1000:
            raise _bad_cursor()
        return raw
    raise _bad_cursor()  # a field type no list orders by


class KeysetPagination(BasePagination):
    """Pages of ``page_size`` rows in ``ordering`` (field names, each ``-`` for descending, all in
    one direction, the last unique), by an opaque cursor. See the module docstring."""

    ordering: tuple[str, ...] = ("-id",)
    # Adds ``total_estimate`` (the planner's row estimate) to each page; for the large tables.
    estimate_total = False
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    page_size_alias = "limit"

    def __init__(self, ordering: tuple[str, ...] | None = None, *, estimate_total: bool | None = None):
        if ordering is not None:
            self.ordering = ordering
        if estimate_total is not None:
            self.estimate_total = estimate_total
        directions = {name.startswith("-") for name in self.ordering}
        assert len(directions) == 1, "a keyset ordering runs in one direction"
        self.descending = directions.pop()
        self.names = [name.lstrip("-") for name in self.ordering]

    # --- request parsing ----------------------------------------------------------------------

    def get_page_size(self, request) -> int:
        maximum = settings.API_MAX_PAGE_SIZE
        for param in (self.page_size_query_param, self.page_size_alias):
            raw = request.query_params.get(param)
            if raw is not None and raw != "":
                return parse_int(raw, field=param, minimum=1, maximum=maximum)
        return min(settings.REST_FRAMEWORK.get("PAGE_SIZE") or maximum, maximum)

    def decode_cursor(self, request, model) -> tuple[list, bool] | None:
        """The sort key a cursor points at and whether it pages backwards; None: the first page."""
        if request.query_params.get("offset") not in (None, ""):
            raise DomainError(
                _("Lists are paged by cursor: follow the next link instead of giving an offset."),
                field="offset",
            )
        text = request.query_params.get(self.cursor_query_param)
        if text is None or text == "":
            return None
        if len(text) > MAX_CURSOR_LENGTH or not text.isascii():
            raise _bad_cursor()
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError, RecursionError):
            raise _bad_cursor() from None
        if not isinstance(data, dict) or set(data) - {"k", "r"}:
            raise _bad_cursor()
        key, backwards = data.get("k"), data.get("r", False)
        if not isinstance(key, list) or len(key) != len(self.names) or not isinstance(backwards, bool):
            raise _bad_cursor()
        fields = [
            model._meta.pk if name in ("pk", "id") else model._meta.get_field(name) for name in self.names
        ]
        return [_decode_value(f, raw) for f, raw in zip(fields, key, strict=True)], backwards

    def encode_cursor(self, row, *, backwards: bool) -> str:
        key = [_encode_value(self._value(row, name)) for name in self.names]
        data = {"k": key, "r": True} if backwards else {"k": key}
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def _value(row, name: str):
        if name == "pk":
            return row.pk
        field = row._meta.get_field(name)
        return getattr(row, field.attname)

    # --- the page -----------------------------------------------------------------------------

    def paginate_queryset(self, queryset, request, view=None) -> list:
        self.request = request
        self.page_size = self.get_page_size(request)
        cursor = self.decode_cursor(request, queryset.model)
        self.total = self._estimate(queryset) if self.estimate_total else None
        backwards = cursor is not None and cursor[1]
        # Reading backwards: the reverse order, from the cursor's row towards the first page.
        descending = self.descending != backwards
        if cursor is not None:
            key = cursor[0]
            if len(self.names) == 1:
                lookup = "lt" if descending else "gt"
                queryset = queryset.filter(**{f"{self.names[0]}__{lookup}": key[0]})
            else:
                # A row comparison, (a, id) < (x, 7): PostgreSQL starts the index scan at the key.
                compare = TupleLessThan if descending else TupleGreaterThan
                queryset = queryset.filter(compare(tuple(models.F(n) for n in self.names), tuple(key)))
        order = [f"-{n}" if descending else n for n in self.names]
        rows = list(queryset.order_by(*order)[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backwards:
            rows.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, cursor is not None
        self.rows = rows
        return rows

    def _estimate(self, queryset) -> int | None:
        """The planner's estimate of the rows in ``queryset`` (PostgreSQL only; no rows are read)."""
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        # The list's own conditions without its joins and order: the estimate is the same, and the
        # planner plans one table instead of six (the joined plan took 7-23 ms to plan under load).
        plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])

    def _link(self, row, *, backwards: bool) -> str:
        url = self.request.build_absolute_uri()
        url = remove_query_param(url, self.page_size_alias)
        if self.page_size_query_param in self.request.query_params or (
            self.page_size_alias in self.request.query_params
        ):
            url = replace_query_param(url, self.page_size_query_param, self.page_size)
        return replace_query_param(url, self.cursor_query_param, self.encode_cursor(row, backwards=backwards))

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.rows:
            return None
        return self._link(self.rows[-1], backwards=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous or not self.rows:
            return None
        return self._link(self.rows[0], backwards=True)

    def get_paginated_response(self, data) -> Response:
        body = OrderedDict([("next", self.get_next_link()), ("previous", self.get_previous_link())])
        if self.estimate_total:
            body["total_estimate"] = self.total
        body["results"] = data
        return Response(body)

    # --- OpenAPI ------------------------------------------------------------------------------

    def get_paginated_response_schema(self, schema: dict) -> dict:
        properties = {
            "next": {
                "type": "string",
                "nullable": True,
                "format": "uri",
                "description": "The next page (null on the last); follow it as given.",
            },
            "previous": {
                "type": "string",
                "nullable": True,
                "format": "uri",
                "description": "The page before (null on the first).",
            },
        }
        if self.estimate_total:
            properties["total_estimate"] = {
                "type": "integer",
                "nullable": True,
                "description": "An ESTIMATE of how many rows the filtered list holds, from the database's "
                "statistics (no rows are counted); it can be off, most for narrow filters. Null where "
                "the database gives none.",
            }
        properties["results"] = schema
        return {"type": "object", "required": ["next", "previous", "results"], "properties": properties}

    def get_schema_operation_parameters(self, view) -> list[dict]:
        maximum = settings.API_MAX_PAGE_SIZE
        default = min(settings.REST_FRAMEWORK.get("PAGE_SIZE") or maximum, maximum)
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Where the page starts: the cursor in the previous response's next or "
                "previous link. Opaque; omit it for the first page.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1–{maximum} (default {default}). ?limit= is accepted too.",
                "schema": {"type": "integer", "minimum": 1, "maximum": maximum},
            },
        ]


def keyset(*ordering: str, estimate_total: bool = False) -> type[KeysetPagination]:
    """A ``KeysetPagination`` in ``ordering``, for a view's ``pagination_class`` (which the schema reads)."""
    return type(
        "KeysetPagination", (KeysetPagination,), {"ordering": ordering, "estimate_total": estimate_total}
    )


def paginate(view, queryset, serialize) -> Response:
    """One page of ``queryset`` by ``view.pagination_class``, as a Response: ``serialize(rows)`` gives
    the results. For ``APIView`` lists (generic list views paginate by themselves)."""
    paginator = view.pagination_class()
    rows = paginator.paginate_queryset(queryset, view.request, view=view)
    return paginator.get_paginated_response(serialize(rows))
