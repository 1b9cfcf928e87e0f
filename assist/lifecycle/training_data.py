"""Conversations and the catalog, out of the database in the ranker's interchange formats.

The ranker never imports Django; this is the bridge: JSONL conversations whose agent turns
carry the template they sent, and the catalog CSV of the templates that may be suggested.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Prefetch, Q, QuerySet

from assist.labels import counts_as_sent
from assist.lifecycle.pii import conversation_names, pii_scrub_many
from assist.models import Conversation, Message
from templates_app.catalog_csv import write_catalog_csv
from templates_app.models import ResponseTemplate


def conversations_write_jsonl(conversations: QuerySet[Conversation], path: Path) -> int:
    """Write conversations (oldest first) as interchange JSONL; returns how many.

    Message text is scrubbed of personal data on the way out: nothing a customer typed
    reaches a training file or a model directory unscrubbed. An agent turn's label is the
    template it sent by assist/labels.py's rule (edited or not); a reply rewritten past the
    rule, or written from scratch, is free text (`template: null`). Per-suggestion rejections
    ("not this one") are not used: see docs/model-lifecycle.md.
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
            .select_related("assigned_agent")
            .prefetch_related(Prefetch("messages", queryset=messages))
            .iterator(chunk_size=500)
        ):
            stored = list(conversation.messages.all())
            texts = pii_scrub_many(
                [m.text for m in stored], known_names=conversation_names(conversation)
            )
            turns = [_turn(m, text) for m, text in zip(stored, texts, strict=True)]
            if turns:
                out.write(json.dumps({"id": str(conversation.pk), "turns": turns}) + "\n")
                count += 1
    return count


@dataclass(frozen=True)
class TimeSplit:
    """Conversations split by when they started: train (the past), dev (early stopping and
    calibration), test (the comparison of the new model with the active one: neither model's
    fitting ever saw it). Undated imports (`started_at_known=False`) are in train only."""

    train: QuerySet[Conversation]
    dev: QuerySet[Conversation]
    test: QuerySet[Conversation]
    undated: int


def conversations_split_by_time(
    conversations: QuerySet[Conversation], *, dev_fraction: float = 0.1, test_fraction: float = 0.1
) -> TimeSplit:
    """Oldest to newest by real start time (ties by id): train, then the next `dev_fraction` of
    the dated conversations as dev, then the newest `test_fraction` as test.

    A time split, not a random one, because a model is judged on conversations that come after
    its training data, with the catalog and customers of that later time; and test comes after
    dev, so nothing that steered the new model's fitting (early stopping, the temperature, the
    confidence threshold) is what the comparison is read on.
    """
    if dev_fraction <= 0 or test_fraction <= 0 or dev_fraction + test_fraction >= 1:
        raise ValueError(
            f"dev and test fractions must be positive and leave room for training, "
            f"not {dev_fraction} and {test_fraction}"
        )
    dated = conversations.filter(started_at_known=True)
    total = dated.count()
    test_count = max(1, round(total * test_fraction)) if total > 2 else 0
    dev_count = max(1, round(total * dev_fraction)) if total > 2 else 0
    undated = conversations.count() - total
    if not test_count:
        return TimeSplit(conversations, conversations.none(), conversations.none(), undated)
    newest_first = dated.order_by("-started_at", "-id").values_list("started_at", "id")

    def newest(count: int) -> Q:
        """The newest `count` dated conversations, as a condition."""
        started, pk = newest_first[count - 1]
        return Q(started_at_known=True) & (
            Q(started_at__gt=started) | Q(started_at=started, id__gte=pk)
        )

    in_test, in_dev_or_test = newest(test_count), newest(test_count + dev_count)
    return TimeSplit(
        train=conversations.exclude(in_dev_or_test),
        dev=conversations.filter(in_dev_or_test).exclude(in_test),
        test=conversations.filter(in_test),
        undated=undated,
    )


def _turn(message: Message, scrubbed: str) -> dict[str, str | None]:
    turn: dict[str, str | None] = {"role": message.role, "text": scrubbed}
    if message.role == Message.Role.AGENT:
        sent = counts_as_sent(message.template_id, message.edit_similarity)
        turn["template"] = message.template.key if sent and message.template else None
    return turn


def catalog_write_csv(path: Path) -> int:
    """Write the active templates as catalog CSV; returns how many."""
    templates = list(ResponseTemplate.objects.filter(is_active=True).order_by("key"))
    with path.open("w", encoding="utf-8", newline="") as out:
        write_catalog_csv(templates, out)
    return len(templates)
