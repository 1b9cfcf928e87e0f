"""Tests for the demo template catalog and the synthetic conversation generator.

The generator is loaded straight from its file, so these tests need neither Django settings
nor the ``assist`` package (whose ``__init__`` imports Celery).
"""

from __future__ import annotations

import ast
import csv
import importlib.util
import itertools
import json
import random
import re
import subprocess
import sys
from difflib import SequenceMatcher
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = ROOT / "assist" / "demo"
CATALOG = DEMO_DIR / "catalog.csv"
GENERATOR = DEMO_DIR / "generator.py"

PLACEHOLDER = re.compile(r"\{[a-z_][a-z0-9_]*\}")
KEY = re.compile(r"^[a-z0-9_.-]+$")
SYSTEM_PLACEHOLDERS = {
    "customer_name",
    "customer_first_name",
    "agent_name",
    "agent_first_name",
    "company_name",
}
MANUAL_PLACEHOLDERS = {"amount", "date", "reference", "days", "last4"}


def _load_generator():
    spec = importlib.util.spec_from_file_location("demo_generator_under_test", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def catalog() -> list[dict[str, str]]:
    with CATALOG.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def conversations() -> list[dict]:
    return gen.generate_conversations(300, seed=0)


def _agent_turns(conversations: list[dict]) -> list[dict]:
    return [t for c in conversations for t in c["turns"] if t["role"] == "agent"]


# --- catalog ---------------------------------------------------------------------------------


def test_catalog_header_and_size(catalog):
    with CATALOG.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header == ["key", "title", "body", "category"]
    assert 60 <= len(catalog) <= 100


def test_catalog_keys_unique_and_well_formed(catalog):
    keys = [row["key"] for row in catalog]
    assert len(keys) == len(set(keys))
    for row in catalog:
        key = row["key"]
        assert KEY.match(key), key
        assert len(key) <= 100, key
        assert key.split(".")[0] == row["category"], key
        assert row["title"].strip() and len(row["title"]) <= 60, key
        assert row["body"].strip(), key
        assert "\n" not in row["body"] and "\r" not in row["body"], key


def test_catalog_placeholders_well_formed(catalog):
    allowed = SYSTEM_PLACEHOLDERS | MANUAL_PLACEHOLDERS
    for row in catalog:
        for field in ("title", "body"):
            text = row[field]
            stripped = PLACEHOLDER.sub("", text)
            assert "{" not in stripped and "}" not in stripped, (row["key"], field, text)
        names = {m[1:-1] for m in PLACEHOLDER.findall(row["body"])}
        assert names <= allowed, (row["key"], names - allowed)


def test_catalog_covers_expected_categories(catalog):
    categories = {row["category"] for row in catalog}
    assert {"greeting", "closing", "card_declined", "transfers", "fraud"} <= categories
    assert len(categories) >= 15


# --- generator -------------------------------------------------------------------------------


def test_generator_does_not_import_assist():
    tree = ast.parse(GENERATOR.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
            assert node.level == 0, "no relative imports"
        else:
            continue
        for name in names:
            assert name.split(".")[0] not in {"assist", "django", "celery"}, name


def test_deterministic_for_a_seed():
    first = gen.generate_conversations(50, seed=7)
    second = gen.generate_conversations(50, seed=7)
    assert first == second
    assert gen.generate_conversations(50, seed=8) != first


def test_returns_requested_number_with_ids():
    convs = gen.generate_conversations(25, seed=3)
    assert len(convs) == 25
    assert [c["id"] for c in convs] == [f"demo-{i:05d}" for i in range(1, 26)]
    assert gen.generate_conversations(0) == []


def test_interchange_format(conversations):
    for conv in conversations:
        assert set(conv) <= {"id", "customer_name", "channel", "turns"}
        assert {"id", "turns"} <= set(conv)
        assert isinstance(conv["customer_name"], str) and conv["customer_name"]
        assert conv["channel"] in {"chat", "app", "email"}
        turns = conv["turns"]
        assert 2 <= len(turns) <= gen.MAX_TURNS <= 16, conv["id"]
        roles = {t["role"] for t in turns}
        assert roles <= {"customer", "agent"}
        assert {"customer", "agent"} <= roles, conv["id"]
        for turn in turns:
            assert isinstance(turn["text"], str) and turn["text"].strip()
            if turn["role"] == "agent":
                assert set(turn) == {"role", "text", "template"}
                assert turn["template"] is None or isinstance(turn["template"], str)
            else:
                assert set(turn) == {"role", "text"}


def test_referenced_templates_exist(conversations, catalog):
    keys = {row["key"] for row in catalog}
    used = {t["template"] for t in _agent_turns(conversations) if t["template"]}
    assert used <= keys, sorted(used - keys)


def test_agent_texts_have_no_unfilled_placeholders(conversations):
    for turn in _agent_turns(conversations):
        assert "{" not in turn["text"] and "}" not in turn["text"], turn["text"]
    for conv in conversations:
        for turn in conv["turns"]:
            assert "{" not in turn["text"], turn["text"]


def test_agent_text_is_filled_template_body(conversations, catalog):
    bodies = {row["key"]: row["body"] for row in catalog}
    for conv in conversations:
        first_name = conv["customer_name"].split(" ")[0]
        for turn in conv["turns"]:
            if turn["role"] != "agent" or not turn["template"]:
                continue
            body = bodies[turn["template"]]
            pattern = re.escape(body)
            pattern = re.sub(r"\\\{[a-z_][a-z0-9_]*\\\}", ".+?", pattern)
            assert re.fullmatch(pattern, turn["text"]), (turn["template"], turn["text"])
            assert "Northwind Bank" in turn["text"] or "{company_name}" not in body
            if "{customer_first_name}" in body:
                assert first_name in turn["text"]


def test_free_text_share(conversations):
    agent = _agent_turns(conversations)
    free = sum(1 for t in agent if t["template"] is None)
    assert 0.05 <= free / len(agent) <= 0.25


def test_most_templates_used(conversations, catalog):
    keys = {row["key"] for row in catalog}
    used = {t["template"] for t in _agent_turns(conversations) if t["template"]}
    assert len(used & keys) >= 0.8 * len(keys)


def test_agent_and_customer_names_vary(conversations):
    assert len({c["customer_name"] for c in conversations}) >= 100
    assert len({c["customer_name"].split(" ")[0] for c in conversations}) >= 20
    agents = set()
    for conv in conversations:
        for turn in conv["turns"]:
            if turn.get("template") == "greeting.formal":
                agents.update(a for a in gen.PEOPLE["agents"] if a in turn["text"])
    assert 2 <= len(agents) <= len(gen.PEOPLE["agents"])


def test_customer_phrasings_are_varied(conversations):
    # The main issue text for a template should not be one fixed sentence.
    texts: dict[str, set[str]] = {}
    for conv in conversations:
        turns = conv["turns"]
        for prev, turn in itertools.pairwise(turns):
            if prev["role"] == "customer" and turn["role"] == "agent" and turn["template"]:
                texts.setdefault(turn["template"], set()).add(prev["text"].lower())
    varied = [k for k, v in texts.items() if len(v) >= 2]
    assert len(varied) >= 0.6 * len(texts)


def test_scenario_phrasings(catalog):
    keys = {row["key"] for row in catalog}
    for key, phrasings in gen.SCENARIOS.items():
        assert key in keys, key
        assert len(phrasings) >= 5, key
        assert len(set(phrasings)) == len(phrasings), key
    # A misspelt field in scenarios.json would be ignored without a word.
    fields = {"phrasings", "related", "follow_ups", "amounts", "days", "future_date"}
    for key, entry in gen._SCENARIOS.items():
        assert set(entry) <= fields, (key, set(entry) - fields)
    for key, (lowest, highest) in gen.DAYS_RANGE.items():
        assert 0 < lowest <= highest, key


def test_phrasing_slots_are_ones_the_generator_fills():
    # A slot misspelt in a data file would reach the output as "{merchnat}" only in the
    # conversations that happen to draw that phrasing; check every phrasing instead.
    slots = set(gen._Conversation(random.Random(0), {}, 1).customer_slots)
    texts = [text for phrasings in gen.SCENARIOS.values() for text in phrasings]
    texts += [text for phrasings in gen.FOLLOW_UPS.values() for text in phrasings]
    texts += [text for value in gen.TURNS.values() if isinstance(value, list) for text in value]
    texts = [text for text in texts if isinstance(text, str)]
    texts += [text for question, answers, _ in gen.CLARIFICATIONS for text in [question, *answers]]
    assert len(texts) > 300
    for text in texts:
        names = {m[1:-1] for m in PLACEHOLDER.findall(text)}
        assert names <= slots, (text, names - slots)
        assert "{" not in PLACEHOLDER.sub("", text), text


def test_clarifications_suit_known_categories(catalog):
    # A misspelt category or group in "suits" would silently make a question never asked.
    categories = {row["category"] for row in catalog}
    groups = gen.TURNS["category_groups"]
    for members in groups.values():
        assert set(members) <= categories
    for item in gen.TURNS["clarifications"]:
        assert set(item["suits"]) <= categories | set(groups), item["question"]
    for question, answers, suits in gen.CLARIFICATIONS:
        assert question and len(answers) >= 2 and set(suits) <= categories, question


def test_missing_template_in_catalog_is_an_error(tmp_path, catalog):
    path = tmp_path / "catalog.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["key", "title", "body", "category"])
        writer.writeheader()
        writer.writerows(row for row in catalog if row["key"] != "transfers.pending")
    with pytest.raises(ValueError, match=r"transfers\.pending"):
        gen.generate_conversations(5, catalog_path=path)


def test_write_jsonl_round_trip(tmp_path, conversations):
    path = tmp_path / "out" / "demo.jsonl"
    assert gen.write_jsonl(conversations[:20], path) == 20
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == conversations[:20]


def test_cli_writes_file_without_importing_assist(tmp_path):
    out = tmp_path / "demo.jsonl"
    # Run the file as a script so the `assist` package (and Celery) is never imported.
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--n", "12", "--seed", "4", "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert "wrote 12 conversations" in result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == gen.generate_conversations(12, seed=4)


# --- the shape of a real chat ------------------------------------------------------------------

TOPIC_FREE = ("greeting.", "closing.", "verification.identity_check", "verification.card_last4")


def _topics(conv: dict) -> list[str]:
    """The distinct templates that answer the customer's problems, in the order answered."""
    keys: list[str] = []
    for turn in conv["turns"]:
        key = turn.get("template")
        if key and not key.startswith(TOPIC_FREE) and key not in keys:
            keys.append(key)
    return keys


def test_chats_have_several_topics(conversations):
    counts = [len(_topics(c)) for c in conversations]
    assert sum(n >= 2 for n in counts) >= 0.4 * len(counts)
    assert sum(n >= 3 for n in counts) >= 0.08 * len(counts)
    assert sum(n == 1 for n in counts) >= 0.2 * len(counts)


def test_customers_add_a_problem_after_the_answer(conversations):
    # Agent answers topic A, the customer's next message raises topic B, the agent answers B.
    added = followed_up = after_anything_else = 0
    for conv in conversations:
        turns = conv["turns"]
        for i in range(2, len(turns)):
            before, ask, answer = turns[i - 2], turns[i - 1], turns[i]
            if not (before["role"] == "agent" and ask["role"] == "customer"):
                continue
            if answer.get("template") not in _topics(conv)[1:]:
                continue
            if before.get("template") in _topics(conv):
                added += 1
                follow_ups = gen.FOLLOW_UPS.get(answer["template"], [])
                followed_up += any(
                    ask["text"].lower().startswith(f.split("{")[0].lower()[:20]) for f in follow_ups
                )
            elif before.get("template") == "closing.standard":
                after_anything_else += 1
    assert added >= 0.2 * len(conversations)
    assert followed_up >= 10
    assert after_anything_else >= 10


def _plain(text: str) -> str:
    text = text.lower().rstrip(".!")
    for word, short in gen.TURNS["typo_swaps"]:
        text = re.sub(rf"\b{short}\b", word, text)
    return text


def test_closings_only_after_the_customer_signals_the_end(conversations):
    signals = {
        _plain(text)
        for name in ("customer_thanks", "customer_endings", "customer_no_more")
        for text in gen.TURNS[name]
    }
    closings = silent = 0
    for conv in conversations:
        turns = conv["turns"]
        for i, turn in enumerate(turns):
            if (turn.get("template") or "").startswith("closing."):
                closings += 1
                previous = turns[i - 1]
                assert previous["role"] == "customer", conv["id"]
                # The customer's line, give or take the generator's typos and lowercasing.
                said = _plain(previous["text"])
                assert max(SequenceMatcher(None, said, s).ratio() for s in signals) >= 0.8, (
                    conv["id"],
                    previous["text"],
                )
        last = turns[-1]
        silent += last["role"] == "agent" and not (last.get("template") or "").startswith(
            ("closing.", "verification.failed")
        )
    assert closings >= 0.5 * len(conversations)
    assert silent >= 0.1 * len(conversations)  # many chats just stop after the last answer


def test_follow_up_questions_are_asked(conversations):
    questions = {q for q, _, _ in gen.CLARIFICATIONS}
    asked = sum(
        1
        for c in conversations
        for t in c["turns"]
        if t["role"] == "customer" and t["text"] in questions
    )
    assert asked >= 0.15 * len(conversations)


def test_follow_ups_raise_only_related_topics(catalog):
    related = {key for keys in gen.RELATED.values() for key in keys}
    keys = {row["key"] for row in catalog}
    for key, phrasings in gen.FOLLOW_UPS.items():
        assert key in related and key in keys, key
        assert len(phrasings) >= 2 and len(set(phrasings)) == len(phrasings), key
