"""A fixed-window request counter in the cache (Redis when configured), for public forms."""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def within_limit(kind: str, value: str, *, limit: int, window: int) -> bool:
    """Count one request of ``kind`` from ``value`` (an address, an IP) in a ``window``-second window;
    False once over ``limit``. Atomic in Redis. Values are hashed: no addresses in the cache in clear."""
    key = f"rate:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"
    cache.add(key, 0, timeout=window)
    try:
        n = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        n = 1
    return n <= limit
