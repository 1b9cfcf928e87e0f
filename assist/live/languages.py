"""Writes of the conversation's language: detected by the worker, or set by a person.

What the language is and how it is detected: assist/languages.py.
"""

from django.db import transaction

from assist.languages import OVERRIDES, Source, language_frame, language_validate
from assist.live.events import conversation_group, send_event_on_commit
from assist.live.selectors import latest_suggestion, suggestion_frame
from assist.models import Conversation


def conversation_language_detected(*, conversation: Conversation, language: str) -> bool:
    """Store a detected language unless a person has set one; True if it was stored.

    One conditional UPDATE, so an override committed meanwhile is never replaced.
    """
    if conversation.language_source in OVERRIDES or conversation.language == language:
        return False
    stored = (
        Conversation.objects.filter(pk=conversation.pk)
        .exclude(language_source__in=OVERRIDES)
        .update(language=language, language_source=Source.DETECTED.value)
    )
    if stored:
        conversation.language, conversation.language_source = language, Source.DETECTED.value
    return bool(stored)


@transaction.atomic
def conversation_language_set(
    *, conversation: Conversation, language: str, source: str
) -> Conversation:
    """A person's choice of the conversation's language (`source`: helpdesk or agent); blank
    hands the choice back to detection. Panels watching get the change and the latest list
    again, rendered in the new language."""
    if source not in OVERRIDES:
        raise ValueError(f"not an override: {source}")
    code = language_validate(language)
    new_source = source if code else ""
    if (conversation.language, conversation.language_source) == (code, new_source):
        return conversation
    conversation.language, conversation.language_source = code, new_source
    conversation.save(update_fields=["language", "language_source"])
    group = conversation_group(conversation.pk)
    send_event_on_commit(
        group,
        {
            "type": "assist.language",
            "conversation": conversation.pk,
            "language": language_frame(conversation),
        },
    )
    latest = latest_suggestion(conversation)
    if latest is not None:
        latest.conversation = conversation
        send_event_on_commit(
            group, {"type": "assist.suggestions", "frame": suggestion_frame(latest)}
        )
    return conversation
