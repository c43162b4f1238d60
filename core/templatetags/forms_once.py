"""``{% form_token %}``: the hidden one-time token that ``core.idempotency.once_per_form`` checks, so a
double-submitted form does its work once."""

from __future__ import annotations

import uuid

from django import template
from django.utils.html import format_html

from core.idempotency import FORM_TOKEN_FIELD

register = template.Library()


@register.simple_tag
def form_token() -> str:
    return format_html('<input type="hidden" name="{}" value="{}">', FORM_TOKEN_FIELD, uuid.uuid4().hex)
