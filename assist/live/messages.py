"""Writes of live conversations: opening one and storing its messages."""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from assist import wire
from assist.access import ANY_OWNER, AnyUser, conversation_for_user, require_picker, write_owner
from assist.errors import InvalidInput
from assist.labels import edit_similarity
from assist.live import sql
from assist.live.rankings import rank_enqueue
from assist.live.rendering import template_render
from assist.live.sql import as_inserted, db_value, single_statement
from assist.models import Conversation, Message, Pick, Suggestion
from assist.review.experiments import assign_arm
from templates_app.models import ResponseTemplate

logger = logging.getLogger(__name__)


def conversation_open(
    *, agent: User | None, external_id: str, channel: str = "chat", customer_name: str = ""
) -> tuple[Conversation, bool]:
    """The open conversation with this external id, made and assigned to `agent` if new
    (None: to nobody yet, as a helpdesk may open it before it assigns it).

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


@dataclass(frozen=True)
class PickReference:
    """The pick a reply was sent after (docs/protocol.md, `pick` of a `message`), checked."""

    client_id: str
    template: ResponseTemplate
    suggestion: Suggestion | None  # None: the template was found by search


def _pick_reference(value: Any, *, conversation_id: int, agent_id: int | None) -> PickReference:
    """Check a reply's pick reference: the agent's own pick, made in this conversation, of
    the template on that list. A pick still on its way to a worker (not stored yet) is taken
    on its list's word: the list is this conversation's and shows the template."""
    if not isinstance(value, dict) or set(value) - {"client_id", "template", "suggestion"}:
        raise InvalidInput("pick must be an object with client_id, template and suggestion")
    client_id, key, suggestion_id = (value.get(k) for k in ("client_id", "template", "suggestion"))
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
        raise InvalidInput("pick.client_id must be a string of 1 to 64 characters")
    if not isinstance(key, str):
        raise InvalidInput("pick.template must be a template key")
    if suggestion_id is not None and not wire.is_id(suggestion_id):
        raise InvalidInput("pick.suggestion must be a suggestion id or null")
    template = ResponseTemplate.objects.filter(key=key).first()
    if template is None:
        raise InvalidInput(f"no template {key!r}", code="not_found")
    suggestion = None
    if suggestion_id is not None:
        suggestion = (
            Suggestion.objects.filter(pk=suggestion_id, conversation_id=conversation_id)
            .only("pk", "items", "model_version_id")
            .first()
        )
        if suggestion is None:
            raise InvalidInput(f"no suggestion {suggestion_id} in this conversation")
        if key not in [item["key"] for item in suggestion.items]:
            raise InvalidInput("pick.template is not on that suggestion list")
    stored = Pick.objects.filter(client_id=client_id).filter(
        Q(agent_id=agent_id) | Q(conversation_id=conversation_id)
    )
    for pick in stored:
        if pick.agent_id != agent_id:
            raise InvalidInput(f"pick {client_id!r} is another agent's")
        if pick.conversation_id != conversation_id:
            raise InvalidInput(f"pick {client_id!r} was made in another conversation")
        if pick.action not in (Pick.Action.INSERTED, Pick.Action.SENT):
            raise InvalidInput(f"pick {client_id!r} inserted nothing (it is a {pick.action})")
        if (pick.template_id, pick.suggestion_id) != (template.pk, suggestion_id):
            raise InvalidInput(f"pick {client_id!r} names another template or list")
    return PickReference(client_id=client_id, template=template, suggestion=suggestion)


def _similarity(conversation_id: int, template: ResponseTemplate, text: str) -> float | None:
    """How much of the template, as the panel inserted it here, the reply kept."""
    conversation = (
        Conversation.objects.filter(pk=conversation_id).select_related("assigned_agent").first()
    )
    if conversation is None:
        return None  # the INSERT refuses it
    inserted = template_render(template=template, conversation=conversation).text
    return edit_similarity(inserted, text)


def _reply_review_fields(
    conversation_id: int,
    template: ResponseTemplate,
    sent_at: dt.datetime,
    picked_from: Suggestion | None = None,
) -> dict[str, Any]:
    """What review needs to know about a templated agent reply, fixed when it is sent.

    The list on screen is the one the template was picked from, or else the conversation's
    latest (a panel shows nothing older), and the selection time runs from the latest
    customer message before the reply.
    """
    shown = picked_from or (
        Suggestion.objects.filter(conversation_id=conversation_id)
        .order_by("-seq")
        .only("pk", "items", "model_version_id")
        .first()
    )
    keys = [item["key"] for item in shown.items] if shown else []
    asked_at = (
        Message.objects.filter(
            conversation_id=conversation_id, role=Message.Role.CUSTOMER, sent_at__lte=sent_at
        )
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


CUSTOMER_LINK = None  # message_ingest's sender for the customer's own chat link


def message_ingest(
    *,
    conversation_id: int,
    sender: AnyUser | None,
    role: str,
    text: str,
    client_id: str,
    template_key: str | None = None,
    pick: Any = None,
) -> Ingested:
    """Store a message once per client id; a customer message queues a ranking on commit.

    `sender` is the signed-in user, who must be allowed to act in the conversation
    (assist/access.py; Http404 or PermissionDenied otherwise), or CUSTOMER_LINK when the caller
    found the conversation by the customer's own link.

    An agent reply sent after a pick carries it (`pick`: {client_id, template, suggestion}) and
    is stored with the pick's template and list, and how much of the template it kept, however
    much the agent edited it; `template_key` alone (older clients, sent unedited) names the
    template without a pick. Whether the reply counts as sending it is assist/labels.py's rule.
    """
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
    owner = ANY_OWNER if sender is CUSTOMER_LINK else write_owner(sender)
    template = None
    picked_from = None
    if (template_key is not None or pick is not None) and role != Message.Role.AGENT:
        raise InvalidInput("only agent messages may name a template or a pick")
    if pick is not None:
        if sender is CUSTOMER_LINK:
            raise InvalidInput("only a signed-in agent's reply carries a pick")
        require_picker(sender)
        agent_id = getattr(sender, "pk", None)
        try:
            reference = _pick_reference(pick, conversation_id=conversation_id, agent_id=agent_id)
        except InvalidInput:
            # Someone who may not write here learns no more than that (404 or 403).
            conversation_for_user(sender, conversation_id, write=True)
            raise
        if template_key is not None and template_key != reference.template.key:
            raise InvalidInput("template and pick.template name different templates")
        template, picked_from = reference.template, reference.suggestion
    elif template_key is not None:
        template = ResponseTemplate.objects.filter(key=template_key).first()
        if template is None:
            raise InvalidInput(f"no template {template_key!r}", code="not_found")

    sent_at = timezone.now()
    # Read before the write's access check, but only ever stored by a write that passes it.
    review: dict[str, Any] = {}
    if template is not None:
        review = _reply_review_fields(conversation_id, template, sent_at, picked_from)
        review["edit_similarity"] = _similarity(conversation_id, template, text)
    message = Message(
        conversation_id=conversation_id,
        role=role,
        text=text,
        template=template,
        client_id=client_id,
        sent_at=sent_at,
        created_at=sent_at,
        **review,
    )
    # Twice at most: a conversation assigned to the sender between the refusal and _refusal's
    # read is written on the second attempt.
    for _ in range(2):
        try:
            with single_statement(), connection.cursor() as cursor:
                cursor.execute(
                    sql.MESSAGE_INSERT,
                    [
                        role, text, client_id, db_value(Message, "sent_at", sent_at),
                        db_value(Message, "created_at", sent_at), message.template_id,
                        message.shown_suggestion_id, message.shown_model_version_id,
                        message.shown_rank, message.selection_ms, message.edit_similarity,
                        conversation_id, Conversation.Status.OPEN.value, owner is ANY_OWNER,
                        owner,
                    ],
                )  # fmt: skip
                row = cursor.fetchone()
        except IntegrityError:
            # The same client id again: a retry after a lost ack. Store nothing twice. (Only a
            # write that passed the access check has a row to conflict.)
            existing = Message.objects.filter(
                conversation_id=conversation_id, client_id=client_id
            ).first()
            if existing is None:
                raise  # not a duplicate (a template deleted meanwhile)
            if (existing.role, existing.text, existing.template_id) != (
                role,
                text,
                message.template_id,
            ):
                # Not a retry: acknowledging it would drop this message without a word.
                raise InvalidInput(
                    f"client_id {client_id!r} already names a different message", code="conflict"
                ) from None
            return Ingested(message=existing, created=False)
        if row is not None:
            break
        _refusal(conversation_id, sender)
    else:
        raise InvalidInput("the conversation changed while the message was stored; send it again")
    as_inserted(message, row[0])
    in_control_arm = bool(row[1])
    if role == Message.Role.CUSTOMER and not in_control_arm:
        # Right away in autocommit mode; after the caller's transaction, if one is open.
        transaction.on_commit(lambda: rank_enqueue(message))
    return Ingested(message=message, created=True)


def _refusal(conversation_id: int, sender: AnyUser | None) -> None:
    """Raise why the message INSERT stored nothing: unknown, not the sender's, or closed."""
    if sender is CUSTOMER_LINK:
        conversation = Conversation.objects.filter(pk=conversation_id).first()
        if conversation is None:
            raise Http404("No such conversation.")
    else:
        conversation = conversation_for_user(sender, conversation_id, write=True)
    if conversation.status != Conversation.Status.OPEN:
        raise InvalidInput("the conversation is closed")
