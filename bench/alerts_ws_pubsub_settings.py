"""Settings for bench_alerts_ws.py --pubsub: the project's settings with channels_redis's pub/sub layer
(``RedisPubSubChannelLayer``) instead of its list-based core layer, to measure before adopting it.

The core layer stores a group message once per member channel, and a daphne process takes its
consumers' messages one ``BZPOPMIN`` round trip at a time: an alert to 667 agents on one process is
667 round trips there. The pub/sub layer publishes a group message once; every process subscribed
to the group receives it once and hands it to its own members in memory. It keeps nothing for a
process that is not listening, which the desk does not need: pushes are hints, alerts are rows, and
a socket catches up on its next hello (README, "Scaling out").
"""

from supportdesk.settings import *  # noqa: F403
from supportdesk.settings import CHANNEL_LAYERS, REDIS_URL

CHANNEL_LAYERS["default"] = {
    "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "CONFIG": {"hosts": [REDIS_URL]},
}
