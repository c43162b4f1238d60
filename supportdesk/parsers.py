"""The API's body parsers (``REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]``): DRF's, refusing what would
otherwise fail deep inside a view as a 500 — NUL or lone surrogates in any string, which PostgreSQL
cannot store (a 400 naming the field), and JSON nested deeper than Python's recursion limit."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from core.parsing import first_unstorable, has_unstorable


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, refusing what would otherwise fail deep inside a view as a 500: nesting
    deeper than Python's recursion limit (a 400), and NUL or lone surrogates in any string, which
    PostgreSQL cannot store (a 400 naming the field). The API's only JSON parser (settings)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("The JSON is nested too deeply.")) from None
        if (field := first_unstorable(data)) is not None:
            raise exceptions.ValidationError(
                {field: [_("The text contains characters that cannot be stored.")]}
            )
        return data


def _refuse_unstorable_form(data) -> None:
    for name, values in data.lists():
        if has_unstorable(name) or any(isinstance(v, str) and has_unstorable(v) for v in values):
            raise exceptions.ValidationError(
                {name: [_("The text contains characters that cannot be stored.")]}
            )


class StrictFormParser(FormParser):
    """Form bodies under the same rule as JSON: NUL or lone surrogates are a 400 naming the field."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _refuse_unstorable_form(data)
        return data


class StrictMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _refuse_unstorable_form(result.data)
        return result
