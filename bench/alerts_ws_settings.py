"""Settings for bench_alerts_ws.py --layer-fix: the project's settings plus the channel-layer change
proposed in bench/README.md ("## Live alerts"), so its effect can be measured before it is adopted.

redis-py 8 gives every connection a 5 s socket timeout (channels_redis blocks 5 s in BZPOPMIN, so an
idle consumer's read times out and the consumer dies) and caps a pool at 100 connections (raising,
not waiting, when 500 sockets join their groups at once).
"""

from supportdesk.settings import *  # noqa: F403
from supportdesk.settings import CHANNEL_LAYERS, REDIS_URL

CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [
    {"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 5, "max_connections": 2000}
]
