"""Bulk import of conversation logs (JSONL), streaming, all or nothing, idempotent.

Two passes over the file: the first validates every line and reports all bad ones without
writing; the second writes in batches inside one transaction. A conversation already in the
database (same channel and id) is skipped whole, so importing a file twice changes nothing.
"""

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from assist.imports.jsonl import ConversationRecord, iter_records
from assist.models import Conversation, Message
from templates_app.import_errors import MAX_REPORTED_ERRORS, ImportRejected, RowError
from templates_app.models import ResponseTemplate

BATCH_CONVERSATIONS = 500
# Imported logs carry no times; turns are spaced like a brisk chat so durations look plausible.
TURN_SPACING = dt.timedelta(seconds=20)
# A record without `started_at` is stored at the import time but flagged
# (`Conversation.started_at_known=False`): retraining orders conversations by when they really
# started, and an undated log must not pass for the newest one (docs/model-lifecycle.md).


@dataclass(frozen=True)
class ConversationImportSummary:
    created: int
    skipped: int
    messages: int
    undated: int = 0  # created without `started_at`: flagged, kept out of dev and test splits


class _TooManyErrors(Exception):
    pass


def _validate(path: Path, template_keys: set[str], usernames: set[str]) -> None:
    errors: list[RowError] = []

    def on_error(line: int, reason: str) -> None:
        errors.append(RowError(line, reason))
        if len(errors) >= MAX_REPORTED_ERRORS:
            raise _TooManyErrors

    try:
        for record in _records(path, template_keys, on_error):
            if record.agent is not None and record.agent not in usernames:
                on_error(record.line, f"unknown agent {record.agent!r}")
    except _TooManyErrors:
        pass
    if errors:
        raise ImportRejected(errors)


def _records(
    path: Path, template_keys: set[str], on_error: Callable[[int, str], None]
) -> Iterator[ConversationRecord]:
    with path.open("rb") as raw:
        yield from iter_records(
            _text_lines(raw, on_error),
            template_keys=template_keys,
            max_chars=settings.MESSAGE_MAX_CHARS,
            on_error=on_error,
        )


def _text_lines(raw: Iterable[bytes], on_error: Callable[[int, str], None]) -> Iterator[str]:
    # Decoded line by line so that a bad byte is reported with its line number.
    for line, data in enumerate(raw, start=1):
        try:
            yield data.decode("utf-8")
        except UnicodeDecodeError as error:
            on_error(line, f"not UTF-8 text ({error.reason} at byte {error.start} of the line)")
            yield ""


def _write_batch(
    batch: list[ConversationRecord],
    *,
    template_ids: dict[str, int],
    user_ids: dict[str, int],
    now: dt.datetime,
) -> tuple[int, int, int]:
    channels = {record.channel for record in batch}
    existing = set(
        Conversation.objects.filter(
            channel__in=channels, external_id__in=[record.external_id for record in batch]
        ).values_list("channel", "external_id")
    )
    fresh = [r for r in batch if (r.channel, r.external_id) not in existing]
    conversations = []
    for record in fresh:
        started = record.started_at or now
        conversations.append(
            Conversation(
                external_id=record.external_id,
                channel=record.channel,
                customer_name=record.customer_name,
                assigned_agent_id=user_ids.get(record.agent) if record.agent else None,
                status=record.status,
                started_at=started,
                started_at_known=record.started_at is not None,
                ended_at=(
                    started + TURN_SPACING * (len(record.turns) - 1)
                    if record.status == "closed"
                    else None
                ),
            )
        )
    Conversation.objects.bulk_create(conversations)
    messages = [
        Message(
            conversation_id=conversation.pk,
            role=turn.role,
            text=turn.text,
            sent_at=conversation.started_at + TURN_SPACING * index,
            template_id=template_ids[turn.template] if turn.template else None,
            # Derived from the position, so the same import line always maps to the same rows.
            client_id=f"import-{index}",
        )
        for record, conversation in zip(fresh, conversations, strict=True)
        for index, turn in enumerate(record.turns)
    ]
    Message.objects.bulk_create(messages, batch_size=2000)
    return len(fresh), len(messages), sum(1 for record in fresh if record.started_at is None)


def conversations_import(*, path: Path) -> ConversationImportSummary:
    """Import a conversation JSONL file; ImportRejected (nothing written) if any line is bad."""
    template_ids = dict(ResponseTemplate.objects.values_list("key", "id"))
    user_ids = dict(get_user_model().objects.values_list("username", "id"))
    _validate(path, set(template_ids), set(user_ids))

    def fail(line: int, reason: str) -> None:
        # The file changed between the passes; rolling back keeps all-or-nothing.
        raise ImportRejected([RowError(line, f"{reason} (the file changed during import)")])

    now = timezone.now()
    created = messages = total = undated = 0
    with transaction.atomic():
        for batch in _chunks(_records(path, set(template_ids), fail), BATCH_CONVERSATIONS):
            batch_created, batch_messages, batch_undated = _write_batch(
                batch, template_ids=template_ids, user_ids=user_ids, now=now
            )
            created += batch_created
            messages += batch_messages
            undated += batch_undated
            total += len(batch)
    return ConversationImportSummary(
        created=created, skipped=total - created, messages=messages, undated=undated
    )


def _chunks(records: Iterable[ConversationRecord], size: int) -> Iterator[list[ConversationRecord]]:
    batch: list[ConversationRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
