"""One Redis connection pool per address for the whole process, for Django's cache.

Django makes a cache object, and with it a connection pool, per request context: under ASGI every
request runs in a context (and thread) of its own, so every request that touched the cache opened a
new TCP connection to Redis and left it to the garbage collector (bench/README.md, "Opening tickets
over HTTP"). redis-py's pool is thread-safe and notices a fork, so one per address serves them all.
"""

from __future__ import annotations

import threading

import redis


class SharedConnectionPool(redis.ConnectionPool):
    """``CACHES[...]["OPTIONS"]["pool_class"]``: ``from_url`` hands out one pool per URL and options."""

    _pools: dict[tuple, redis.ConnectionPool] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs) -> redis.ConnectionPool:
        key = (url, tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
        with cls._lock:
            pool = cls._pools.get(key)
            if pool is None:
                pool = cls._pools[key] = super().from_url(url, **kwargs)
            return pool
