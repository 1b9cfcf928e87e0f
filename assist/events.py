"""The one place that sends live events to panels, always after the transaction commits.

Events are JSON-able dicts whose `type` is like `assist.suggestions`; Channels maps it to the
consumer method `assist_suggestions`. Delivery is at-most-once: a panel that reconnects asks
for `state` instead of trusting that it saw every push.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


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
        async_to_sync(layer.group_send)(group, event)
    except Exception:
        # The database already holds the truth; a panel catches up on its next `state`.
        logger.warning("live event %s to %s not delivered", event.get("type"), group, exc_info=True)


def send_event_on_commit(group: str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: send_now(group, event))
