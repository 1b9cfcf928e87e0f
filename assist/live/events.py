"""The one place that sends live events to panels, always after the transaction commits.

Events are JSON-able dicts whose `type` is like `assist.suggestions`; Channels maps it to the
consumer method `assist_suggestions`. Delivery is at-most-once: a panel that reconnects asks
for `state` instead of trusting that it saw every push.
"""

import logging
import threading
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.db import transaction

logger = logging.getLogger(__name__)
SEND_TIMEOUT_S = 5

_publishers: dict[str, redis.Redis] = {}
_publishers_lock = threading.Lock()


def conversation_group(conversation_id: int) -> str:
    return f"assist.conversation.{conversation_id}"


def agent_group(user_id: int) -> str:
    return f"assist.agent.{user_id}"


def _redis_publisher(layer: RedisPubSubChannelLayer) -> redis.Redis:
    """A plain Redis client on the layer's host, one per process and host (it reconnects)."""
    (host,) = layer._kwargs["hosts"]  # a URL: config/settings/base.py
    with _publishers_lock:
        if host not in _publishers:
            _publishers[host] = redis.Redis.from_url(
                host, socket_connect_timeout=SEND_TIMEOUT_S, socket_timeout=SEND_TIMEOUT_S
            )
        return _publishers[host]


def group_channel(layer: RedisPubSubChannelLayer, group: str) -> str:
    """The Redis channel that the layer's subscribers to `group` listen on.

    What RedisPubSubLoopLayer._get_group_channel_name makes; that method needs a running event
    loop, which sync code has not. tests/assist/live/test_events.py holds the two together.
    """
    return f"{layer._kwargs.get('prefix', 'asgi')}__group__{group}"


def send_now(group: str, event: dict[str, Any]) -> None:
    """Push to a group immediately; a channel-layer failure is logged, never raised.

    Sync code (the workers, the web processes' database threads) publishes with a plain Redis
    client, in the layer's own format: one round trip. The layer's group_send would need an
    event loop, and handing the push to a loop thread cost about 0.6 ms a suggestion here.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if isinstance(layer, RedisPubSubChannelLayer) and len(layer._kwargs["hosts"]) == 1:
            _redis_publisher(layer).publish(group_channel(layer, group), layer.serialize(event))
        else:
            # The in-memory layer, whose queues belong to the server's loop, which async_to_sync
            # reuses; or a sharded Redis layer, which picks the host (slower: a new connection
            # for each push's event loop).
            async_to_sync(layer.group_send)(group, event)
    except Exception:
        # The database already holds the truth; a panel catches up on its next `state`.
        logger.warning("live event %s to %s not delivered", event.get("type"), group, exc_info=True)


def send_event_on_commit(group: str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: send_now(group, event))
