"""Reads for panels and the API, shaped as the protocol's frames (docs/protocol.md)."""

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from assist.live.rendering import placeholder_values
from assist.models import Conversation, Message, Suggestion
from assist.review.experiments import suggestions_enabled
from templates_app.models import ResponseTemplate
from templates_app.placeholders import render
from templates_app.selectors import template_search

STATE_MESSAGES = 50


def sent_template_keys(conversation: Conversation) -> set[str]:
    return set(
        conversation.messages.filter(template__isnull=False).values_list("template__key", flat=True)
    )


def _item(
    template: ResponseTemplate,
    values: dict[str, str],
    *,
    probability: float | None,
    confident: bool,
    already_sent: bool,
) -> dict[str, Any]:
    rendered = render(template.body, values)
    return {
        "key": template.key,
        "title": template.title,
        "body": rendered.text,
        "unfilled": list(rendered.unfilled),
        "probability": probability,
        "confident": confident,
        "already_sent": already_sent,
    }


def suggestion_frame(
    suggestion: Suggestion,
    *,
    sent: set[str] | None = None,
    templates: Mapping[str, ResponseTemplate] | None = None,
) -> dict[str, Any]:
    """The body of a `suggestions` frame: the stored list, rendered for its conversation.

    `sent`: the keys already sent in the conversation, and `templates`: the templates by key
    (at least the listed ones), when the caller has them at hand.
    """
    conversation = suggestion.conversation
    if templates is None:
        keys = [item["key"] for item in suggestion.items]
        templates = ResponseTemplate.objects.in_bulk(keys, field_name="key")
    values = placeholder_values(conversation)
    if sent is None:
        sent = sent_template_keys(conversation)
    return {
        "conversation": conversation.pk,
        "suggestion": suggestion.pk,
        "seq": suggestion.seq,
        "message": suggestion.message_id,
        "model_version": suggestion.model_version.name if suggestion.model_version else None,
        "items": [
            _item(
                templates[item["key"]],
                values,
                probability=item["probability"],
                confident=item["confident"],
                already_sent=item["key"] in sent,
            )
            for item in suggestion.items
            if item["key"] in templates
        ],
    }


def latest_suggestion(conversation: Conversation) -> Suggestion | None:
    return (
        Suggestion.objects.filter(conversation=conversation)
        .select_related("conversation__assigned_agent", "model_version")
        .order_by("-seq")
        .first()
    )


def message_frame(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "role": message.role,
        "text": message.text,
        "sent_at": message.sent_at.isoformat(),
        "template": message.template.key if message.template else None,
    }


def conversation_state(conversation: Conversation, *, assist_available: bool) -> dict[str, Any]:
    """The body of a `state` frame: what a (re)connecting panel needs to catch up."""
    recent = list(
        conversation.messages.select_related("template").order_by("-sent_at", "-id")[
            :STATE_MESSAGES
        ]
    )
    latest = latest_suggestion(conversation)
    return {
        "conversation": conversation_summary(conversation) | {"status": conversation.status},
        "messages": [message_frame(message) for message in reversed(recent)],
        "suggestions": suggestion_frame(latest) if latest else None,
        "assist_available": assist_available,
        # False in an experiment's control arm: no list will come, and that is not an outage.
        "suggestions_enabled": suggestions_enabled(conversation),
    }


def conversation_summary(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "external_id": conversation.external_id,
        "customer_name": conversation.customer_name,
    }


def open_conversations_for_agent(user: Any) -> QuerySet[Conversation]:
    return Conversation.objects.filter(assigned_agent=user, status=Conversation.Status.OPEN)


def search_items(
    query: str, *, conversation: Conversation | None, limit: int = 10
) -> list[dict[str, Any]]:
    values = placeholder_values(conversation) if conversation else {}
    sent = sent_template_keys(conversation) if conversation else set()
    return [
        _item(
            template, values, probability=None, confident=False, already_sent=template.key in sent
        )
        for template in template_search(query=query)[:limit]
    ]
