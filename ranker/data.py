"""Conversations and catalogs → examples: (context so far → template key) pairs.

Formats (see ``shared/datasets/README.md``):

- conversations JSONL, one conversation a line:
  ``{"id": ..., "turns": [{"role": "customer"|"agent", "text": ..., "template": KEY|null}]}``
- catalog CSV with columns ``key,title,body,category``.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# How a context string becomes the model's input (recorded in the model directory as
# ``ranker.json`` -> ``context_format``). The context *string* is the same for both: the turns so
# far, one message a line, oldest first, cut from the oldest whole message (:func:`build_context`);
# the format decides how it is tokenised (:func:`ranker.encoding.tokenize_contexts`):
#
# - ``oldest-first``: the string as one segment (``[CLS] oldest ... newest [SEP]``);
# - ``newest-first``: a tokenizer pair, segment A = the newest message, segment B = the earlier
#   messages newest first (``[CLS] newest [SEP] previous ... oldest [SEP]``), cut from the oldest
#   end, so the newest message always sits at the same positions, whatever the history's length.
OLDEST_FIRST = "oldest-first"
NEWEST_FIRST = "newest-first"
CONTEXT_FORMATS = (OLDEST_FIRST, NEWEST_FIRST)
CONTEXT_FORMAT = OLDEST_FIRST  # what a model directory that records no format was trained with
# The description that model directories written before the format option recorded.
_LEGACY_FORMATS = {
    "one message a line, '<role>: <text>', oldest first, cut from the oldest message": OLDEST_FIRST
}


def context_format_name(value: str | None) -> str:
    """The canonical name of a recorded context format; ``None`` (not recorded) is oldest-first."""
    if value is None:
        return OLDEST_FIRST
    name = _LEGACY_FORMATS.get(value, value)
    if name not in CONTEXT_FORMATS:
        raise ValueError(f"unknown context format {value!r}; choose from {CONTEXT_FORMATS}")
    return name


class TokenCounter(Protocol):
    """What context building needs from a tokenizer: token ids of a batch of strings."""

    def __call__(self, text: list[str], add_special_tokens: bool = ...) -> Any: ...


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: str
    text: str
    template: str | None = None


@dataclass(frozen=True)
class Conversation:
    """A conversation: an id and its turns, oldest first."""

    id: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class Example:
    """One agent turn and what came before it.

    ``label`` is the template key, or ``None`` for a free-text agent turn (kept for abstention).
    ``sent`` are the template keys the agent already sent earlier in the same conversation.
    ``customer_turns`` counts the customer messages before this turn (1: the agent's reply to
    the first customer message; the position that evaluation reports figures by).
    """

    conversation_id: str
    turn_index: int
    context: str
    label: str | None
    sent: tuple[str, ...] = ()
    customer_turns: int = 0


@dataclass(frozen=True)
class CatalogEntry:
    """One row of the template catalog."""

    key: str
    title: str
    body: str
    category: str


def read_conversations(path: str | Path) -> list[Conversation]:
    """Read a conversations JSONL file; a malformed line raises ``ValueError`` with its number."""
    conversations: list[Conversation] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                turns = tuple(
                    Turn(role=str(t["role"]), text=str(t["text"]), template=t.get("template"))
                    for t in raw["turns"]
                )
                conversations.append(Conversation(id=str(raw["id"]), turns=turns))
            except (KeyError, TypeError, json.JSONDecodeError) as exc:
                raise ValueError(f"{path}:{lineno}: bad conversation: {exc}") from exc
    return conversations


def read_catalog(path: str | Path) -> list[CatalogEntry]:
    """Read a catalog CSV (``key,title,body,category``), keeping the file's order."""
    with open(path, encoding="utf-8", newline="") as f:
        return [
            CatalogEntry(
                key=row["key"],
                title=row.get("title", ""),
                body=row.get("body", ""),
                category=row.get("category", ""),
            )
            for row in csv.DictReader(f)
        ]


def format_message(role: str, text: str) -> str:
    """One context line: ``"customer: text"``; newlines inside a message become spaces."""
    return f"{role}: {' '.join(text.split())}"


def build_context(
    turns: Sequence[tuple[str, str]],
    tokenizer: TokenCounter | None,
    max_tokens: int = 256,
    max_messages: int | None = None,
) -> str:
    """Build the model input from ``(role, text)`` turns, oldest first.

    One message a line with its speaker tag. Whole messages are dropped from the oldest end until
    the rest fits ``max_tokens`` (counting the two special tokens); the newest message is always
    kept (the tokenizer truncates it from the left if it alone is too long). ``max_messages``
    keeps at most that many of the newest messages (1 = no conversation context). With no
    tokenizer, only ``max_messages`` applies.
    """
    lines = [format_message(role, text) for role, text in turns]
    return _cut_context(lines, _token_counts(lines, tokenizer), max_tokens, max_messages)


def _token_counts(lines: list[str], tokenizer: TokenCounter | None) -> list[int]:
    if tokenizer is None or not lines:
        return [0] * len(lines)
    ids = tokenizer(lines, add_special_tokens=False)["input_ids"]
    return [len(x) for x in ids]


def _cut_context(
    lines: list[str], counts: list[int], max_tokens: int, max_messages: int | None
) -> str:
    budget = max_tokens - 2  # [CLS] and [SEP]
    kept: list[str] = []
    used = 0
    for line, n in zip(reversed(lines), reversed(counts), strict=True):
        if max_messages is not None and len(kept) >= max_messages:
            break
        if kept and used + n > budget:
            break
        kept.append(line)
        used += n
    return "\n".join(reversed(kept))


def iter_examples(
    conversations: Iterable[Conversation],
    tokenizer: TokenCounter | None,
    max_tokens: int = 256,
    max_messages: int | None = None,
) -> Iterator[Example]:
    """Yield one example per agent turn (template or free text), with the context before it.

    Agent turns that open a conversation (no context) are skipped.
    """
    for conv in conversations:
        lines = [format_message(t.role, t.text) for t in conv.turns]
        counts = _token_counts(lines, tokenizer)
        sent: list[str] = []
        customer_turns = 0
        for i, turn in enumerate(conv.turns):
            if turn.role != "agent":
                if turn.role == "customer":
                    customer_turns += 1
                continue
            if i > 0:
                context = _cut_context(lines[:i], counts[:i], max_tokens, max_messages)
                yield Example(conv.id, i, context, turn.template, tuple(sent), customer_turns)
            if turn.template is not None:
                sent.append(turn.template)


def split_conversations(
    conversations: Sequence[Conversation], dev_fraction: float, seed: int
) -> tuple[list[Conversation], list[Conversation]]:
    """Split by conversation (never by turn), deterministically for a seed: (train, dev)."""
    order = list(range(len(conversations)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(len(order) * dev_fraction)) if dev_fraction > 0 else 0
    dev_ids = set(order[:n_dev])
    train = [c for i, c in enumerate(conversations) if i not in dev_ids]
    dev = [c for i, c in enumerate(conversations) if i in dev_ids]
    return train, dev


POSITIONS = ("1", "2-3", "4+")


def position_bucket(customer_turns: int) -> str:
    """Turn position as evaluation reports it: after the 1st customer message, the 2nd-3rd, 4th+."""
    if customer_turns <= 1:
        return "1"
    return "2-3" if customer_turns <= 3 else "4+"


def cap_examples(examples: list[Example], max_examples: int | None, seed: int) -> list[Example]:
    """Keep a seeded random subset of at most ``max_examples`` examples (order preserved)."""
    if max_examples is None or len(examples) <= max_examples:
        return examples
    keep = sorted(random.Random(seed).sample(range(len(examples)), max_examples))
    return [examples[i] for i in keep]
