"""Examples, context building and the split."""

from __future__ import annotations

import json
from pathlib import Path

from ranker.base_models import default_base_model
from ranker.data import (
    Conversation,
    Turn,
    build_context,
    iter_examples,
    read_conversations,
    split_conversations,
)
from ranker.model import load_tokenizer


def test_build_context_cuts_whole_oldest_messages() -> None:
    tok = load_tokenizer(default_base_model())
    turns = [("customer", "one two three four five")] * 5 + [("agent", "six seven")]
    full = build_context(turns, tok, max_tokens=512)
    assert full.splitlines()[0] == "customer: one two three four five"
    assert full.splitlines()[-1] == "agent: six seven"
    assert len(full.splitlines()) == 6
    # Each customer line is 7 tokens ("customer", ":", five words), the agent line 4.
    short = build_context(turns, tok, max_tokens=2 + 4 + 7 + 7)
    assert short.splitlines() == ["customer: one two three four five"] * 2 + ["agent: six seven"]
    assert build_context(turns, tok, max_tokens=512, max_messages=1) == "agent: six seven"
    # The newest message is kept even when it alone exceeds the budget.
    assert build_context(turns, tok, max_tokens=3) == "agent: six seven"


def test_iter_examples_keeps_free_text_and_tracks_sent(tmp_path: Path) -> None:
    conv = {
        "id": "c1",
        "turns": [
            {"role": "customer", "text": "hi"},
            {"role": "agent", "text": "hello", "template": "greet"},
            {"role": "customer", "text": "card?"},
            {"role": "agent", "text": "free text", "template": None},
            {"role": "agent", "text": "it comes", "template": "card_arrival"},
        ],
    }
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(conv) + "\n")
    examples = list(iter_examples(read_conversations(path), None))
    assert [e.label for e in examples] == ["greet", None, "card_arrival"]
    assert examples[0].context == "customer: hi"
    assert examples[2].sent == ("greet",)
    assert examples[2].context.splitlines()[-1] == "agent: free text"


def test_split_is_by_conversation_and_seeded() -> None:
    convs = [Conversation(str(i), (Turn("customer", "x"),)) for i in range(100)]
    train, dev = split_conversations(convs, 0.1, seed=5)
    assert len(dev) == 10 and len(train) == 90
    assert not {c.id for c in train} & {c.id for c in dev}
    assert [c.id for c in split_conversations(convs, 0.1, seed=5)[1]] == [c.id for c in dev]
    assert [c.id for c in split_conversations(convs, 0.1, seed=6)[1]] != [c.id for c in dev]
