"""Reads for panels and the API, shaped as the protocol's frames (docs/protocol.md)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from assist.languages import language_frame
from assist.live.rendering import ConversationValues, placeholder_values
from assist.models import Conversation, Message, Suggestion
from assist.review.experiments import suggestions_enabled
from templates_app.models import ResponseTemplate
from templates_app.placeholders import render
from templates_app.search import template_search
from templates_app.variants import template_text, variants_by_key

STATE_MESSAGES = 50


def sent_template_keys(conversation: Conversation) -> set[str]:
    return set(
        conversation.messages.filter(template__isnull=False).values_list("template__key", flat=True)
    )


def _item(
    template: ResponseTemplate,
    values: ConversationValues,
    *,
    probability: float | None,
    confident: bool,
    already_sent: bool,
    variants: Mapping[str, tuple[str, str]] | None = None,
    language: str = "",
) -> dict[str, Any]:
    # The text in the conversation's language, or the key's own text marked as a fallback.
    text = template_text(template, variants or {}, language)
    rendered = render(text.body, values)
    return {
        "key": template.key,
        "title": text.title,
        "locale": text.locale,
        "fallback": text.fallback,
        "body": rendered.text,
        "unfilled": list(rendered.unfilled),
        # Where each filled value came from, so the agent can check it before sending.
        "fields": values.provenance(rendered.filled),
        "probability": probability,
        "confident": confident,
        "already_sent": already_sent,
    }


def suggestion_frame(
    suggestion: Suggestion,
    *,
    sent: set[str] | None = None,
    templates: Mapping[str, ResponseTemplate] | None = None,
    variants: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
    customer_messages: list[tuple[int, str, datetime]] | None = None,
) -> dict[str, Any]:
    """The body of a `suggestions` frame: the stored list, rendered for its conversation.

    `sent`: the keys already sent in the conversation, `templates`: the templates by key
    (at least the listed ones), `variants`: their texts in other locales
    (templates_app.active_catalog), and `customer_messages`: (id, text, sent_at) of the
    customer's messages, newest first, when the caller has them at hand.
    """
    conversation = suggestion.conversation
    keys = [item["key"] for item in suggestion.items]
    if templates is None:
        templates = ResponseTemplate.objects.in_bulk(keys, field_name="key")
    if variants is None:
        variants = variants_by_key(keys, conversation.language)
    values = placeholder_values(conversation, customer_messages=customer_messages)
    if sent is None:
        sent = sent_template_keys(conversation)
    return {
        "conversation": conversation.pk,
        "suggestion": suggestion.pk,
        "seq": suggestion.seq,
        "message": suggestion.message_id,
        "model_version": suggestion.model_version.name if suggestion.model_version else None,
        "language": language_frame(conversation),
        "items": [
            _item(
                templates[item["key"]],
                values,
                probability=item["probability"],
                confident=item["confident"],
                already_sent=item["key"] in sent,
                variants=variants.get(item["key"]),
                language=conversation.language,
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
        "language": language_frame(conversation),
    }


def open_conversations_for_agent(user: Any) -> QuerySet[Conversation]:
    return Conversation.objects.filter(assigned_agent=user, status=Conversation.Status.OPEN)


def search_items(
    query: str, *, conversation: Conversation | None, limit: int = 10
) -> list[dict[str, Any]]:
    values = placeholder_values(conversation)
    sent = sent_template_keys(conversation) if conversation else set()
    language = conversation.language if conversation else ""
    # Searched in the language the results are shown in (any, while it is not known).
    templates = list(template_search(query=query, locale=language)[:limit])
    variants = variants_by_key([template.key for template in templates], language)
    return [
        _item(
            template,
            values,
            probability=None,
            confident=False,
            already_sent=template.key in sent,
            variants=variants.get(template.key),
            language=language,
        )
        for template in templates
    ]
