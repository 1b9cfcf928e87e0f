import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from assist.models import Conversation, Message
from tests import factories
from tests.datasets import DATASETS, needs_datasets

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(db):
    return [factories.TemplateFactory(key=key) for key in ("greet", "card_arrival", "bye")]


def conversation(cid: str, **extra) -> dict:
    return {
        "id": cid,
        "turns": [
            {"role": "customer", "text": "Where is my card?"},
            {"role": "agent", "text": "It is on its way.", "template": "card_arrival"},
            {"role": "agent", "text": "Anything else?", "template": None},
        ],
        **extra,
    }


def write_lines(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "conversations.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_imports_conversations_with_their_templates_and_twice_is_once(tmp_path, catalog):
    path = write_lines(tmp_path, [json.dumps(conversation("c1")), json.dumps(conversation("c2"))])
    call_command("import_conversations", path, stdout=io.StringIO())
    out = io.StringIO()
    call_command("import_conversations", path, stdout=out)

    assert "0 conversations created" in out.getvalue()
    assert "2 already imported" in out.getvalue()
    assert Conversation.objects.count() == 2
    messages = Message.objects.filter(conversation__external_id="c1").order_by("sent_at")
    assert [(m.role, m.template.key if m.template else None) for m in messages] == [
        ("customer", None),
        ("agent", "card_arrival"),
        ("agent", None),
    ]
    assert Message.objects.count() == 6


def test_optional_fields_assign_the_agent_and_keep_it_open(tmp_path, catalog, agent_user):
    record = conversation(
        "c1", agent=agent_user.username, status="open", customer_name="Ann Lee", channel="chat"
    )
    call_command("import_conversations", write_lines(tmp_path, [json.dumps(record)]))
    imported = Conversation.objects.get()
    assert (imported.assigned_agent, imported.status, imported.channel) == (
        agent_user,
        "open",
        "chat",
    )
    assert imported.ended_at is None


BAD_LINES = [
    ("{not json", "invalid JSON"),
    (json.dumps({"turns": conversation("x")["turns"]}), "missing 'id'"),
    (json.dumps({"id": "x"}), "missing 'turns'"),
    (json.dumps({"id": "x", "turns": [{"role": "bot", "text": "hi"}]}), "unknown role 'bot'"),
    (json.dumps({"id": "x", "turns": [{"role": "agent", "text": ""}]}), "empty 'text'"),
    (
        json.dumps({"id": "x", "turns": [{"role": "agent", "text": "a", "template": "nope"}]}),
        "template 'nope' is not in the catalog",
    ),
    (
        json.dumps({"id": "x", "turns": [{"role": "customer", "text": "a", "template": "greet"}]}),
        "only agent turns",
    ),
    (json.dumps(conversation("c1")), "repeats line 1"),
    (json.dumps(conversation("x", agent="ghost")), "unknown agent 'ghost'"),
    (json.dumps({"id": "x", "turns": [{"role": "agent", "text": "a" * 10_001}]}), "longer than"),
    # What PostgreSQL cannot store, and JSON deeper than the parser's stack.
    (json.dumps(conversation("x", customer_name="Jo\u0000")), "'customer_name' contains a NUL"),
    (
        json.dumps({"id": "x", "turns": [{"role": "customer", "text": "hi \ud800"}]}),
        "turn 1: text contains a NUL or an unpaired surrogate",
    ),
    (json.dumps(conversation("x\udfff")), "'id' contains a NUL or an unpaired surrogate"),
    ('{"id": "x", "turns": ' + "[" * 30_000 + "]" * 30_000 + "}", "nested too deeply"),
]


@pytest.mark.parametrize(("bad", "reason"), BAD_LINES)
def test_a_bad_line_is_reported_with_its_number_and_nothing_is_written(
    tmp_path, catalog, bad, reason
):
    path = write_lines(
        tmp_path, [json.dumps(conversation("c1")), json.dumps(conversation("c2")), bad]
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_conversations", path, stderr=err)
    assert "line 3: " in err.getvalue()
    assert reason in err.getvalue()
    assert Conversation.objects.count() == 0
    assert Message.objects.count() == 0


def test_invalid_utf8_is_reported_with_its_line(tmp_path, catalog):
    path = tmp_path / "c.jsonl"
    path.write_bytes(json.dumps(conversation("c1")).encode() + b"\n" + b'{"id": "\xff"}\n')
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_conversations", path, stderr=err)
    assert "line 2: not UTF-8" in err.getvalue()
    assert not Conversation.objects.exists()


def test_a_byte_order_mark_is_accepted(tmp_path, catalog):
    path = tmp_path / "c.jsonl"
    lines = [json.dumps(conversation("c1")), json.dumps(conversation("c2"))]
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode())
    call_command("import_conversations", path, stdout=io.StringIO())
    assert Conversation.objects.count() == 2


def sgd_catalog_and_train():
    call_command("import_catalog", DATASETS / "sgd" / "catalog.csv", stdout=io.StringIO())
    return DATASETS / "sgd" / "train.jsonl"


@pytest.mark.slow
@needs_datasets
def test_the_whole_sgd_train_set_imports(tmp_path):
    train = sgd_catalog_and_train()
    call_command("import_conversations", train, stdout=io.StringIO())
    assert Conversation.objects.count() == 12_174
    assert Message.objects.count() == 223_756
    assert Message.objects.filter(role="agent", template__isnull=False).exists()


@pytest.mark.slow
@needs_datasets
def test_a_corrupted_sgd_copy_fails_on_its_line_and_leaves_the_database_unchanged(tmp_path):
    train = sgd_catalog_and_train()
    lines = train.read_text(encoding="utf-8").splitlines()
    lines[9_000] = lines[9_000][:-40]  # a line cut short, far into the file
    corrupted = write_lines(tmp_path, lines)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_conversations", corrupted, stderr=err)
    assert "line 9001: invalid JSON" in err.getvalue()
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()
