"""What happens to a ranking that cannot be done: recorded as failed, the panels told."""

import logging

from assist.events import conversation_group, send_now
from assist.models import Message

logger = logging.getLogger(__name__)


def ranking_fail(*, message_id: int, attempts: int) -> None:
    """Give up ranking a message after `attempts` deliveries that never finished (each one took
    its worker process down): log it for operators and tell the conversation's panels that
    suggestions are unavailable, as in degraded mode. The message itself stays stored.
    """
    # Ids only: message text is personal data and stays out of the logs.
    logger.error("ranking failed: message %s abandoned after %s attempts", message_id, attempts)
    conversation_id = (
        Message.objects.filter(pk=message_id).values_list("conversation_id", flat=True).first()
    )
    if conversation_id is not None:
        send_now(
            conversation_group(conversation_id),
            {"type": "assist.status", "assist_available": False},
        )
