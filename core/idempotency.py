"""``Idempotency-Key`` on the API's create endpoints (DESIGN.md: "creates accept an Idempotency-Key").

A client that may retry a POST (a timeout, a double submit) sends a key it chose, unique per
operation. The first request with that key runs; every later one with the same key and the same
request (method, path, body) gets the first one's status and body again, with
``Idempotent-Replayed: true``, and creates nothing. The same key with a different request is a 422.

Race-safe: the key row is inserted in the transaction that does the work. A concurrent request
with the same key blocks on the unique constraint until that transaction ends; if it committed, the
waiter replays its response; if it rolled back (an error), the waiter runs as if first. Only success
(2xx) is stored: a refused request (4xx) rolls back with its key, so the client may fix the body
and retry with the same key. Keys are per user and kept for ``IDEMPOTENCY_KEY_TTL`` seconds.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.http import HttpResponseRedirect
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from core.errors import DomainError
from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

# Add to an endpoint's ``extend_schema(parameters=[...])`` so the OpenAPI document shows the header.
PARAMETER = OpenApiParameter(
    HEADER,
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="A key you choose per operation (1–255 printable ASCII characters). Retrying with the "
    "same key and body replays the first response instead of creating again; kept for a day.",
)


class KeyReused(DomainError):
    """The key was used before for a different request."""


def _key_from(request) -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in raw):
        raise DomainError(_("The Idempotency-Key must be 1–255 printable ASCII characters."), field=HEADER)
    return raw


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode("utf-8", "surrogatepass") + b"\n")
    try:
        digest.update(request.body)
    except RawPostDataException:
        # A form body already parsed (the hostile-input middleware reads forms): its fields and files.
        fields = sorted((k, v) for k, vs in request.POST.lists() for v in vs)
        files = sorted((k, f.name, f.size) for k, fs in request.FILES.lists() for f in fs)
        digest.update(json.dumps([fields, files], default=str).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _replay(row: IdempotencyKey) -> Response:
    response = Response(row.response, status=row.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def _insert_key(*, user, key: str, fingerprint: str, request, now) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING``: one statement, no savepoint around it (a failed plain
    INSERT would abort the caller's transaction). True when our row went in. On a key another
    transaction holds uncommitted, PostgreSQL waits for that transaction as a plain INSERT would:
    committed, nothing goes in; rolled back, ours does."""
    fields = [IdempotencyKey._meta.get_field(name) for name in _KEY_COLUMNS]
    values = [
        user.pk,
        key,
        fingerprint,
        request.method,
        request.path[:2000],
        now,
        now + timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL),
    ]
    ops = connection.ops
    table = ops.quote_name(IdempotencyKey._meta.db_table)
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    unique = ", ".join(ops.quote_name(IdempotencyKey._meta.get_field(n).column) for n in ("user", "key"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "
            f"ON CONFLICT ({unique}) DO NOTHING RETURNING {ops.quote_name('id')}",
            [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)],
        )
        return cursor.fetchone() is not None


_KEY_COLUMNS = ("user", "key", "fingerprint", "method", "path", "created_at", "expires_at")


def _claim(*, user, key: str, fingerprint: str, request) -> IdempotencyKey | None:
    """Insert the key row, or return the finished row another request stored (None: ours to run).
    Must run inside the caller's transaction; blocks while another transaction holds the same key.
    The usual case (a new key) is one statement; an expired row in the way is deleted and the
    insert tried again."""
    now = timezone.now()
    for _attempt in range(2):
        if _insert_key(user=user, key=key, fingerprint=fingerprint, request=request, now=now):
            return None
        stored = IdempotencyKey.objects.filter(user=user, key=key).first()
        if stored is not None and stored.expires_at > now:
            return stored
        # Expired (or deleted meanwhile by the purge): it no longer counts, as if never used.
        IdempotencyKey.objects.filter(user=user, key=key, expires_at__lte=now).delete()
    raise IntegrityError(f"idempotency key {key!r} could not be claimed")  # pragma: no cover


def idempotent(method):
    """Decorate an APIView's ``post``: honour ``Idempotency-Key`` as the module docstring says.
    Read ``request.body`` first, before DRF parses the stream."""

    @functools.wraps(method)
    def wrapper(view, request, *args, **kwargs):
        key = _key_from(request)
        if key is None:
            return method(view, request, *args, **kwargs)
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            stored = _claim(user=request.user, key=key, fingerprint=fingerprint, request=request)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise KeyReused(
                        _("This Idempotency-Key was already used for a different request."), field=HEADER
                    )
                return _replay(stored)
            response = method(view, request, *args, **kwargs)
            if not 200 <= response.status_code < 300:
                transaction.set_rollback(True)  # nothing stored: the client may fix it and retry
                return response
            IdempotencyKey.objects.filter(user=request.user, key=key).update(
                status_code=response.status_code,
                response=json.loads(json.dumps(response.data, cls=DjangoJSONEncoder)),
            )
            return response

    return wrapper


# --- page forms ----------------------------------------------------------------------------------
# A form rendered with ``{% form_token %}`` carries a one-time token; a view decorated with
# ``once_per_form`` runs once per token: a double click or a browser retry of the same submission is
# sent where the first one went, instead of opening a second ticket or declaring twice.
FORM_TOKEN_FIELD = "form_token"


def once_per_form(view):
    """Decorate a page view that POSTs a form: the first request with a token runs (in a transaction
    with the token's row); a repeat with the same token is redirected where the first one was. A
    refused first try (not a redirect) stores nothing, so the corrected form may reuse the token.
    Without a token (an old page, a script) the view simply runs."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        token = request.POST.get(FORM_TOKEN_FIELD, "")
        if request.method != "POST" or not token or not request.user.is_authenticated:
            return view(request, *args, **kwargs)
        key = f"form:{token[:200]}"
        with transaction.atomic():
            stored = _claim(user=request.user, key=key, fingerprint="form", request=request)
            if stored is not None:
                return HttpResponseRedirect(stored.response or request.path)
            response = view(request, *args, **kwargs)
            if response.status_code not in (301, 302, 303):
                transaction.set_rollback(True)
                return response
            IdempotencyKey.objects.filter(user=request.user, key=key).update(
                status_code=response.status_code, response=response["Location"]
            )
            return response

    return wrapper


def purge_expired(*, now=None) -> int:
    """Delete expired keys (a beat task calls this); returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
