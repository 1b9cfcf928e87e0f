"""Writes of live conversations: opening one and storing its messages."""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from assist.db import single_statement
from assist.experiments import assign_arm, suggestions_enabled
from assist.health import inference_available
from assist.models import Conversation, Message
from templates_app.models import ResponseTemplate

logger = logging.getLogger(__name__)


class InvalidInput(ValueError):
    """A client sent something the service cannot store; the message says what."""

    def __init__(self, detail: str, *, code: str = "invalid") -> None:
        super().__init__(detail)
        self.code = code


def conversation_open(
    *, agent: AbstractBaseUser, external_id: str, channel: str = "chat", customer_name: str = ""
) -> tuple[Conversation, bool]:
    """The open conversation with this external id, made and assigned to `agent` if new.

    Returns (conversation, created). The unique constraint decides a race between two opens.
    A new conversation gets its experiment arm now, once (the hash makes racers agree).
    """
    external_id, channel = external_id.strip(), (channel.strip() or "chat")
    if not external_id or len(external_id) > 200:
        raise InvalidInput("external_id must be 1 to 200 characters")
    if len(channel) > 32 or len(customer_name) > 200:
        raise InvalidInput("channel (32) or customer_name (200) is too long")
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                external_id=external_id,
                channel=channel,
                customer_name=customer_name.strip(),
                assigned_agent=agent,
                started_at=timezone.now(),
                experiment_arm=assign_arm(channel=channel, external_id=external_id),
            )
            return conversation, True
    except IntegrityError:
        return Conversation.objects.get(channel=channel, external_id=external_id), False


def rank_enqueue(message: Message) -> None:
    """Queue the ranking; if the broker is unreachable, tell the panels instead of failing.

    The message is already stored, so the agent loses only the suggestions, never the message.
    """
    from kombu.exceptions import OperationalError

    from assist.tasks import rank, suggestions_unavailable  # tasks import services: late

    try:
        rank.delay(message.pk)
    except (OperationalError, ConnectionError, OSError):
        logger.warning("broker unreachable: no ranking for message %s", message.pk)
        suggestions_unavailable(message.conversation_id)
        return
    # After the publish, so that the ranking does not wait for this read. Queued all the same:
    # a worker that comes back ranks the newest message.
    if not inference_available():
        suggestions_unavailable(message.conversation_id)


def _reply_review_fields(
    conversation: Conversation, template: ResponseTemplate, sent_at: dt.datetime
) -> dict[str, Any]:
    """What review needs to know about a templated agent reply, fixed when it is sent.

    The list on screen is the conversation's latest (a panel shows nothing older), and the
    selection time runs from the latest customer message before the reply.
    """
    shown = (
        conversation.suggestions.order_by("-seq").only("pk", "items", "model_version_id").first()
    )
    keys = [item["key"] for item in shown.items] if shown else []
    asked_at = (
        conversation.messages.filter(role=Message.Role.CUSTOMER, sent_at__lte=sent_at)
        .order_by("-sent_at", "-id")
        .values_list("sent_at", flat=True)
        .first()
    )
    return {
        "shown_suggestion": shown,
        "shown_model_version_id": shown.model_version_id if shown else None,
        "shown_rank": keys.index(template.key) + 1 if template.key in keys else None,
        "selection_ms": (
            max(0, round((sent_at - asked_at).total_seconds() * 1000)) if asked_at else None
        ),
    }


@dataclass(frozen=True)
class Ingested:
    message: Message
    created: bool


def message_ingest(
    *,
    conversation: Conversation,
    role: str,
    text: str,
    client_id: str,
    template_key: str | None = None,
) -> Ingested:
    """Store a message once per client id; a customer message queues a ranking on commit."""
    if role not in (Message.Role.CUSTOMER, Message.Role.AGENT):
        raise InvalidInput("role must be 'customer' or 'agent'")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("text must be a non-empty string")
    if len(text) > settings.MESSAGE_MAX_CHARS:
        raise InvalidInput(
            f"text is longer than {settings.MESSAGE_MAX_CHARS} characters", code="too_large"
        )
    if not client_id or len(client_id) > 64:
        raise InvalidInput("client_id must be 1 to 64 characters")
    template = None
    if template_key is not None:
        if role != Message.Role.AGENT:
            raise InvalidInput("only agent messages may name a template")
        template = ResponseTemplate.objects.filter(key=template_key).first()
        if template is None:
            raise InvalidInput(f"no template {template_key!r}", code="not_found")
    if conversation.status != Conversation.Status.OPEN:
        raise InvalidInput("the conversation is closed")

    sent_at = timezone.now()
    review = _reply_review_fields(conversation, template, sent_at) if template else {}
    try:
        with single_statement():
            message = Message.objects.create(
                conversation=conversation,
                role=role,
                text=text,
                template=template,
                client_id=client_id,
                sent_at=sent_at,
                **review,
            )
    except IntegrityError:
        # The same client id again: a retry after a lost ack. Store nothing twice.
        message = Message.objects.get(conversation=conversation, client_id=client_id)
        return Ingested(message=message, created=False)
    if role == Message.Role.CUSTOMER and suggestions_enabled(conversation):
        # Right away in autocommit mode; after the caller's transaction, if one is open.
        transaction.on_commit(lambda: rank_enqueue(message))
    return Ingested(message=message, created=True)
