"""Queueing a customer message's ranking, and what happens to one that cannot be done:
recorded as failed, the panels told that suggestions are unavailable."""

import logging

from kombu.exceptions import OperationalError

from assist.live import dispatch
from assist.live.events import conversation_group, send_now
from assist.live.heartbeat import inference_available
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
        suggestions_unavailable(conversation_id)


def rank_enqueue(message: Message) -> None:
    """Queue the ranking; if the broker is unreachable, tell the panels instead of failing.

    The message is already stored, so the agent loses only the suggestions, never the message.
    """
    try:
        dispatch.enqueue(dispatch.RANK, message_id=message.pk)
    except (OperationalError, ConnectionError, OSError):
        logger.warning("broker unreachable: no ranking for message %s", message.pk)
        suggestions_unavailable(message.conversation_id)
        return
    # After the publish, so that the ranking does not wait for this read. Queued all the same:
    # a worker that comes back ranks the newest message.
    if not inference_available():
        suggestions_unavailable(message.conversation_id)


def suggestions_unavailable(conversation_id: int) -> None:
    """Tell the conversation's panels that no suggestions are coming (degraded mode)."""
    send_now(
        conversation_group(conversation_id),
        {"type": "assist.status", "assist_available": False},
    )
