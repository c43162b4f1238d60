"""Reads that can wait go to a PostgreSQL streaming replica; writes, and whoever just wrote, to the primary.

Off unless ``DATABASE_REPLICA_URL`` is set: supportdesk/settings.py then adds the ``replica`` alias
(a TEST MIRROR of ``default``, so tests need no second database) and ``ReplicaRouter``; without it the
router is not installed, the middleware removes itself and ``@replica_reads`` calls the view as it is.

Who reads where:

- Only views decorated with ``@replica_reads`` read from the replica, and only on GET/HEAD: the heavy
  read-only pages (queues, the dashboard, the status page). Everything else — services, tasks, the
  API, sign-in and the session and user lookups that run before the view — reads the primary.
- **A request that wrote reads the primary from then on.** Every ORM write asks the router where to
  go first (``db_for_write``), the session's save included; that marks the request, and every later
  read in it goes to the primary. So does any read inside a transaction on the primary.
- **Read-your-writes.** A request that wrote (or any POST/PUT/PATCH/DELETE) leaves a signed cookie,
  and for ``REPLICA_READ_YOUR_WRITES_SECONDS`` that browser reads only from the primary: an agent who
  takes a ticket sees it taken on the queue they land on, even if the replica has not replayed it.
  The default window is the lag bound plus the lag check's period: a replica reported within the
  bound at most that long ago has replayed anything written before the window opened.
- **Lag bound.** The replica's lag is measured on the replica (``replica_status``: nothing when it has
  replayed all it received, else the age of the last replayed commit — so an idle primary is no lag,
  and a stalled replay counts from its last commit) at most once per ``REPLICA_LAG_CHECK_SECONDS`` per
  process. Past ``REPLICA_MAX_LAG_SECONDS``, or unknown, reads go to the primary.
- **Replica down.** The check fails (connect timeout ``REPLICA_CONNECT_TIMEOUT``) and reads go to the
  primary until the next check. If the replica fails in the middle of a view, the view — read-only —
  runs again on the primary: the user sees the page, not an error.

The dashboard shows the lag to staff; ``/metrics`` exports it.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

REPLICA = "replica"
# The read-your-writes cookie: signed (a client cannot un-pin itself into stale reads of someone
# else's data — nor does it matter much: it only chooses between two copies of the same data).
COOKIE = "sd_primary"
_COOKIE_SALT = "core.replica.read-your-writes"
_SAFE_METHODS = ("GET", "HEAD")

# Nothing to replay (all received WAL replayed, or not a standby at all): no lag. Otherwise the age
# of the last replayed commit; NULL (nothing replayed since start) is unknown, treated as too far.
_LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
END
"""


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


# --- per request ---------------------------------------------------------------------------------


@dataclass
class RoutingState:
    """What the router needs to know about the request it serves (one per request, in a context var:
    Django's sync views run in a thread that inherits the request's context)."""

    pinned: bool = False  # this browser wrote within the read-your-writes window
    replica: bool = False  # inside a @replica_reads view that may read from the replica
    wrote: bool = False  # this request has written through the ORM
    used_replica: bool = False  # a query of this request went to the replica


_state: contextvars.ContextVar[RoutingState | None] = contextvars.ContextVar("read_routing", default=None)


class ReplicaRouter:
    """``DATABASE_ROUTERS`` entry when a replica is configured. Writes, migrations and every read not
    inside a ``@replica_reads`` view go to ``default``."""

    def db_for_read(self, model, **hints) -> str:
        state = _state.get()
        if (
            state is None
            or not state.replica
            or state.wrote
            or connections[DEFAULT_DB_ALIAS].in_atomic_block  # reads in a transaction see its writes
        ):
            return DEFAULT_DB_ALIAS
        state.used_replica = True
        return REPLICA

    def db_for_write(self, model, **hints) -> str:
        state = _state.get()
        if state is not None:
            state.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # Both aliases hold the same rows.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool | None:
        return False if db == REPLICA else None  # a standby is read-only: it gets the primary's schema


class ReadRoutingMiddleware:
    """Gives each request its RoutingState and, after a request that wrote, the read-your-writes cookie.
    Placed before SessionMiddleware so the session's own save counts as a write."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        if not replica_configured():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        state = RoutingState(pinned=wrote_recently(request))
        token = _state.set(state)
        try:
            response = self.get_response(request)
        finally:
            _state.reset(token)
        if state.wrote or request.method not in _SAFE_METHODS:
            response.set_signed_cookie(
                COOKIE,
                "1",
                salt=_COOKIE_SALT,
                max_age=read_your_writes_seconds(),
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


def read_your_writes_seconds() -> int:
    return settings.REPLICA_READ_YOUR_WRITES_SECONDS


def wrote_recently(request: HttpRequest) -> bool:
    # The signature carries its own time: older than the window, and it no longer counts.
    value = request.get_signed_cookie(
        COOKIE, default=None, salt=_COOKIE_SALT, max_age=read_your_writes_seconds()
    )
    return value is not None


def replica_reads(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let a read-only GET view read from the replica (see the module docstring for when it does not).
    Put it below the view's role decorator: who the user is is read from the primary, before the view."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        state = _state.get()
        if (
            state is None
            or request.method not in _SAFE_METHODS
            or state.pinned
            or state.wrote
            or not replica_status().usable
        ):
            return view(request, *args, **kwargs)
        state.replica = True
        try:
            return view(request, *args, **kwargs)
        except DatabaseError as exc:
            if not state.used_replica:
                raise
            # The replica went away (or cancelled a query in a recovery conflict): the page is read-only,
            # so render it again from the primary rather than show an error.
            log.warning("replica failed during %s, answered from the primary: %r", request.path, exc)
            _remember(ReplicaStatus(reachable=False, lag=None, checked_at=time.monotonic()))
            connections[REPLICA].close()
            state.replica = False
            return view(request, *args, **kwargs)
        finally:
            state.replica = False

    return wrapped


def read_alias() -> str:
    """The alias a raw-SQL read in the current request should use (``connections[read_alias()]``): the
    router's choice, which is ``default`` outside ``@replica_reads`` views and without a replica."""
    from django.db import router

    return router.db_for_read(None)


# --- lag -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaStatus:
    reachable: bool
    lag: float | None  # seconds; None when unreachable or not yet known
    checked_at: float  # time.monotonic() of the measurement

    @property
    def usable(self) -> bool:
        return self.reachable and self.lag is not None and self.lag <= settings.REPLICA_MAX_LAG_SECONDS

    @property
    def max_lag(self) -> float:
        return settings.REPLICA_MAX_LAG_SECONDS


_lock = threading.Lock()
_last: ReplicaStatus | None = None


def _remember(status: ReplicaStatus) -> None:
    global _last
    with _lock:
        _last = status


def replica_status() -> ReplicaStatus | None:
    """The replica's lag as last measured in this process, measured again when older than
    ``REPLICA_LAG_CHECK_SECONDS``: one small query per process per period. None without a replica."""
    if not replica_configured():
        return None
    last = _last
    now = time.monotonic()
    if last is not None and now - last.checked_at < settings.REPLICA_LAG_CHECK_SECONDS:
        return last
    status = _measure(now)
    _remember(status)
    return status


def _measure(now: float) -> ReplicaStatus:
    connection = connections[REPLICA]
    try:
        with connection.cursor() as cursor:
            cursor.execute(_LAG_SQL)
            (lag,) = cursor.fetchone()
    except DatabaseError as exc:
        log.warning("replica unreachable, reading from the primary: %r", exc)
        connection.close()
        return ReplicaStatus(reachable=False, lag=None, checked_at=now)
    return ReplicaStatus(reachable=True, lag=None if lag is None else max(0.0, float(lag)), checked_at=now)
