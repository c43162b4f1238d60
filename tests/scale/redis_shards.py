"""Real Redis servers on free loopback ports, for the Channels layer sharded over several of them, and
listeners on that layer that behave like the desk's websocket consumers (one per browser).

Debian's ``redis-server`` (the same package the machine's Redis comes from), keeping nothing on disk:
a restarted shard comes back empty, as one restarted without persistence does in production.
"""

from __future__ import annotations

import asyncio
import copy
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import redis
from channels.layers import channel_layers
from django.conf import settings

from tests.processes import free_port, stop

START_TIMEOUT = 30


def missing() -> str:
    return "" if shutil.which("redis-server") else "no redis-server (apt-get install redis-server)"


class RedisServer:
    """One ``redis-server`` process; ``restart()`` brings it back on the same port, empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="supportdesk-redis-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            + ["--dir", self.dir, "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                if self.proc.poll() is not None:
                    pytest.fail(f"redis-server on port {self.port} exited with {self.proc.returncode}")
                time.sleep(0.05)
        pytest.fail(f"redis-server on port {self.port} did not answer within {START_TIMEOUT} s")

    def stop(self) -> None:
        """Killed, not shut down: what is in it is gone."""
        if self.proc is not None:
            stop(self.proc, signal.SIGKILL)
            self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def layer_config(urls: list[str]) -> dict:
    """settings.CHANNEL_LAYERS with its Redis hosts replaced by ``urls`` (the same options as
    supportdesk/settings.py gives each, which CHANNEL_LAYER_REDIS_URLS builds in the other processes)."""
    config = copy.deepcopy(settings.CHANNEL_LAYERS)
    template = config["default"]["CONFIG"]["hosts"][0]
    config["default"]["CONFIG"]["hosts"] = [{**template, "address": url} for url in urls]
    return config


class Listener:
    """A channel in the layer, in groups, as an agent's websocket consumer is; ``drain()`` returns what
    arrived. Each has a layer instance of its own, as each web process has, so that its channel can
    live on a chosen shard (channels_redis places a process's channels by its client prefix)."""

    def __init__(self, *, shard: int, groups: list[str]):
        self.loop = asyncio.new_event_loop()
        for _ in range(200):
            self.layer = channel_layers.make_backend("default")
            self.channel = self.loop.run_until_complete(self.layer.new_channel())
            if self.shard_of(self.channel) == shard:
                break
        else:
            pytest.fail(f"no client prefix hashed to shard {shard}")
        self.groups = groups
        self.join()

    def shard_of(self, name: str) -> int:
        """The index of the Redis server that holds a group's members or a channel's messages."""
        return self.layer.consistent_hash(self.layer.non_local_name(name) if "!" in name else name)

    def join(self) -> None:
        """What the consumer does on every hello (notifications/consumers.py): join its groups again.
        After a shard restart the layer's pool still holds connections to the old server, and the first
        command on one fails; the consumer's socket then closes and the browser reconnects and says
        hello again — here, one more try (the failed connection has left the pool)."""
        for group in self.groups:
            self._with_a_retry(lambda: self.layer.group_add(group, self.channel))

    def _with_a_retry(self, make, tries: int = 3):
        for attempt in range(1, tries + 1):
            try:
                return self.loop.run_until_complete(make())
            except redis.ConnectionError:
                if attempt == tries:
                    raise

    def drain(self, *, timeout: float = 0.5, until: int | None = None) -> list[dict]:
        """The alert pushes (``alert.push``; queue hints are skipped) that arrive until ``timeout``
        passes without any message, or ``until`` of them arrived."""

        async def run() -> list[dict]:
            got: list[dict] = []
            stale = 0
            while until is None or len(got) < until:
                try:
                    message = await asyncio.wait_for(self.layer.receive(self.channel), timeout)
                except asyncio.TimeoutError:
                    break
                except redis.ConnectionError:  # a connection to a restarted shard: dropped, try again
                    stale += 1
                    if stale > 3:
                        raise
                    continue
                if message.get("type") == "alert.push":
                    got.append(message)
            return got

        return self.loop.run_until_complete(run())

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.layer.close_pools())
        except Exception:  # a shard may be down: the pools die with the loop anyway
            pass
        finally:
            self.loop.close()
