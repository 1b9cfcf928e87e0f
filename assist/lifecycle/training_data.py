"""Conversations and the catalog, out of the database in the ranker's interchange formats.

The ranker never imports Django; this is the bridge: JSONL conversations whose agent turns
carry the template they sent, and the catalog CSV of the templates that may be suggested.
"""

import json
from pathlib import Path

from django.db.models import Prefetch, Q, QuerySet

from assist.lifecycle.pii import pii_scrub
from assist.models import Conversation, Message
from templates_app.catalog_csv import write_catalog_csv
from templates_app.models import ResponseTemplate


def conversations_write_jsonl(conversations: QuerySet[Conversation], path: Path) -> int:
    """Write conversations (oldest first) as interchange JSONL; returns how many.

    Message text is scrubbed of personal data on the way out: nothing a customer typed
    reaches a training file or a model directory unscrubbed. An agent turn's label is the
    template the agent actually sent (recorded on the message when a pick was sent).
    """
    messages = (
        Message.objects.filter(role__in=[Message.Role.CUSTOMER, Message.Role.AGENT])
        .select_related("template")
        .order_by("sent_at", "id")
    )
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for conversation in (
            conversations.order_by("started_at", "id")
            .prefetch_related(Prefetch("messages", queryset=messages))
            .iterator(chunk_size=500)
        ):
            turns = [_turn(message) for message in conversation.messages.all()]
            if turns:
                out.write(json.dumps({"id": str(conversation.pk), "turns": turns}) + "\n")
                count += 1
    return count


def conversations_split_by_time(
    conversations: QuerySet[Conversation], *, dev_fraction: float = 0.1
) -> tuple[QuerySet[Conversation], QuerySet[Conversation]]:
    """(older, newer): train on the past, validate on the newest `dev_fraction` of conversations.

    A time split, not a random one, because the model will be judged on conversations that
    come after its training data, with the catalog and customers of that later time.
    """
    total = conversations.count()
    dev_count = max(1, round(total * dev_fraction)) if total > 1 else 0
    if not dev_count:
        return conversations, conversations.none()
    cut = conversations.order_by("-started_at", "-id").values_list("started_at", "id")[
        dev_count - 1
    ]
    older = conversations.filter(Q(started_at__lt=cut[0]) | Q(started_at=cut[0], id__lt=cut[1]))
    return older, conversations.exclude(pk__in=older.values("pk"))


def _turn(message: Message) -> dict[str, str | None]:
    turn: dict[str, str | None] = {"role": message.role, "text": pii_scrub(message.text)}
    if message.role == Message.Role.AGENT:
        turn["template"] = message.template.key if message.template else None
    return turn


def catalog_write_csv(path: Path) -> int:
    """Write the active templates as catalog CSV; returns how many."""
    templates = list(ResponseTemplate.objects.filter(is_active=True).order_by("key"))
    with path.open("w", encoding="utf-8", newline="") as out:
        write_catalog_csv(templates, out)
    return len(templates)
