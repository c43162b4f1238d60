"""Settings for ``bench_create.py --profile DIR``: the project's settings plus one outermost middleware
that runs pyinstrument around every request and writes, per route and method, the combined profile of
all its requests (after the first three, the warm-up) as text to ``$BENCH_PROFILE_DIR/<METHOD>_<route>.txt`` (every 10 requests, so a server
stopped by a signal still leaves them).

Under ASGI the middleware runs in the thread Django gives sync code, and the view runs in that same thread
(``sync_to_async(thread_sensitive=True)`` goes back to it), so the profile holds the middleware, the view,
the queries and the waits for the event loop in between: wall-clock time in that thread.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

from supportdesk.settings import *  # noqa: F403
from supportdesk.settings import MIDDLEWARE

MIDDLEWARE = ["bench.profile_settings.ProfileMiddleware", *MIDDLEWARE]
WRITE_EVERY = 10
WARM_UP = 3


class ProfileMiddleware:
    def __init__(self, get_response):
        from pyinstrument import Profiler

        self.get_response = get_response
        self.make = lambda: Profiler(interval=0.0005, async_mode="disabled")
        self.profilers: dict[str, object] = {}
        self.counts: dict[str, int] = {}
        self.seen: dict[str, int] = {}
        self.folder = Path(os.environ.get("BENCH_PROFILE_DIR", "profiles"))
        self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, request):
        label = f"{request.method}_{re.sub(r'[^A-Za-z0-9]+', '_', request.path).strip('_')}"
        label = re.sub(r"_SD_\d+|_\d{5,}", "_ID", label)
        seen = self.seen[label] = self.seen.get(label, 0) + 1
        if seen <= WARM_UP:  # a process's first requests import, compile and connect: not profiled
            return self.get_response(request)
        profiler = self.profilers.setdefault(label, self.make())
        profiler.start()
        try:
            return self.get_response(request)
        finally:
            profiler.stop()
            count = self.counts[label] = self.counts.get(label, 0) + 1
            if count % WRITE_EVERY == 0:
                write(profiler.last_session, self.folder / label, count)


def write(session, path: Path, count: int) -> None:
    """The tree and the flat (self time) profile of all the requests so far, per request. Django
    gives each request a thread of its own: their stacks are merged into one "request" root first."""
    from pyinstrument.renderers import ConsoleRenderer

    session = copy.copy(session)  # the profiler goes on adding to its own
    records = []
    for stack, seconds in session.frame_records:
        stack = ["request\x00<thread>\x000" if "\x00<thread>\x00" in f else f for f in stack]
        records.append((stack, seconds / count))  # the mean request
    session.frame_records = records
    session.duration /= count
    session.cpu_time /= count
    for name, flat in (("tree", False), ("flat", True)):
        text = ConsoleRenderer(unicode=True, color=False, flat=flat, short_mode=flat).render(session)
        path.with_name(f"{path.name}.{name}.txt").write_text(f"mean of {count} requests, seconds\n{text}")
