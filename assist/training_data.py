"""Conversations and the catalog, out of the database in the ranker's interchange formats.

The ranker never imports Django; this is the bridge: JSONL conversations whose agent turns
carry the template they sent, and the catalog CSV of the templates that may be suggested.
"""

import json
from pathlib import Path

from django.db.models import Prefetch, QuerySet

from assist.models import Conversation, Message
from templates_app.catalog_csv import write_catalog_csv
from templates_app.models import ResponseTemplate


def conversations_write_jsonl(conversations: QuerySet[Conversation], path: Path) -> int:
    """Write conversations (oldest first) as interchange JSONL; returns how many."""
    messages = Message.objects.select_related("template").order_by("sent_at", "id")
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for conversation in (
            conversations.order_by("started_at", "id")
            .prefetch_related(Prefetch("messages", queryset=messages))
            .iterator(chunk_size=500)
        ):
            turns = [
                {"role": m.role, "text": m.text}
                | (
                    {"template": m.template.key if m.template else None}
                    if m.role == "agent"
                    else {}
                )
                for m in conversation.messages.all()
                if m.role in ("customer", "agent")
            ]
            if turns:
                out.write(json.dumps({"id": str(conversation.pk), "turns": turns}) + "\n")
                count += 1
    return count


def _turn(message: Message) -> dict[str, str | None]:
    turn: dict[str, str | None] = {"role": message.role, "text": message.text}
    if message.role == Message.Role.AGENT:
        turn["template"] = message.template.key if message.template else None
    return turn


def catalog_write_csv(path: Path) -> int:
    """Write the active templates as catalog CSV; returns how many."""
    templates = list(ResponseTemplate.objects.filter(is_active=True).order_by("key"))
    with path.open("w", encoding="utf-8", newline="") as out:
        write_catalog_csv(templates, out)
    return len(templates)
