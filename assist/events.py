"""The one place that sends live events to panels, always after the transaction commits.

Events are JSON-able dicts whose `type` is like `assist.suggestions`; Channels maps it to the
consumer method `assist_suggestions`. Delivery is at-most-once: a panel that reconnects asks
for `state` instead of trusting that it saw every push.
"""

import asyncio
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)
SEND_TIMEOUT_S = 5

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _sender_loop() -> asyncio.AbstractEventLoop:
    """One long-lived event loop per process for pushes from sync code (the workers).

    async_to_sync would make a new loop per push, and the Redis layer keeps its connections
    per loop: a fresh connection for every push cost about 4 ms here.
    """
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="assist-events", daemon=True).start()
        return _loop


def conversation_group(conversation_id: int) -> str:
    return f"assist.conversation.{conversation_id}"


def agent_group(user_id: int) -> str:
    return f"assist.agent.{user_id}"


def send_now(group: str, event: dict[str, Any]) -> None:
    """Push to a group immediately; a channel-layer failure is logged, never raised."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if isinstance(layer, InMemoryChannelLayer):
            # Its queues belong to the server's loop, which async_to_sync reuses.
            async_to_sync(layer.group_send)(group, event)
        else:
            future = asyncio.run_coroutine_threadsafe(
                layer.group_send(group, event), _sender_loop()
            )
            future.result(timeout=SEND_TIMEOUT_S)
    except Exception:
        # The database already holds the truth; a panel catches up on its next `state`.
        logger.warning("live event %s to %s not delivered", event.get("type"), group, exc_info=True)


def send_event_on_commit(group: str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: send_now(group, event))
