"""Context formats: how a context string becomes the model's input, recorded in the model
directory and used alike by training, serving, ONNX export and evaluation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ranker.data import (
    NEWEST_FIRST,
    OLDEST_FIRST,
    build_context,
    iter_examples,
    position_bucket,
    read_conversations,
)
from ranker.encoding import collate, tokenize, tokenize_contexts
from ranker.evaluate import EvalConfig, evaluate
from ranker.model import (
    POOL_MEAN,
    POOL_MEAN_3NEWEST,
    POOL_MEAN_NEWEST,
    ModelMeta,
    build_classifier,
    load_encoder,
    load_model_dir,
    load_tokenizer,
    mean_pool,
    predict_logits,
    save_model_dir,
)
from ranker.serving import Ranker

TURNS = [
    ("customer", "hi there"),
    ("agent", "hello how can i help"),
    ("customer", "my card has not arrived"),
    ("agent", "sorry to hear that"),
    ("customer", "also i was charged twice"),
]
CONTEXTS = [
    build_context(TURNS, None),
    build_context(TURNS[:3], None),
    build_context(TURNS[:1], None),
]


@pytest.fixture(scope="module")
def tok(tiny_base: Path) -> object:
    return load_tokenizer(str(tiny_base))


def _tokens(tok: object, ids: list[int]) -> list[str]:
    return list(tok.convert_ids_to_tokens(ids))  # type: ignore[attr-defined]


def test_newest_first_puts_the_newest_message_first_and_cuts_the_oldest(tok: object) -> None:
    (ids,) = tokenize_contexts(tok, CONTEXTS[:1], 512, NEWEST_FIRST)
    text = " ".join(_tokens(tok, ids))
    assert text.startswith("[CLS] customer : also i was charged twice [SEP] agent : sorry")
    assert text.endswith("customer : hi there [SEP]")
    # Each earlier message whole or not at all: specials, the newest, the two before it.
    budget = 3 + 7 + 6 + 7
    (cut,) = tokenize_contexts(tok, CONTEXTS[:1], budget + 2, NEWEST_FIRST)
    assert " ".join(_tokens(tok, cut)).endswith("customer : my card has not arrived [SEP]")
    assert len(cut) == budget
    # A first message alone is one segment; a newest message over the budget keeps its end.
    (alone,) = tokenize_contexts(tok, CONTEXTS[2:], 64, NEWEST_FIRST)
    assert alone == tokenize(tok, CONTEXTS[2:], 64)[0]
    (long_,) = tokenize_contexts(tok, CONTEXTS[:1], 6, NEWEST_FIRST)
    assert _tokens(tok, long_) == ["[CLS]", "i", "was", "charged", "twice", "[SEP]"]
    # Oldest-first is the one-segment tokenisation of before.
    assert tokenize_contexts(tok, CONTEXTS, 20, OLDEST_FIRST) == tokenize(tok, CONTEXTS, 20)


def test_meta_without_or_with_the_old_format_field_loads_as_oldest_first(tmp_path: Path) -> None:
    meta = ModelMeta(labels=["a"], base_model="x")
    meta.save(tmp_path)
    raw = json.loads((tmp_path / "ranker.json").read_text())
    del raw["context_format"]
    (tmp_path / "ranker.json").write_text(json.dumps(raw))
    assert ModelMeta.load(tmp_path).context_format == OLDEST_FIRST
    raw["context_format"] = (
        "one message a line, '<role>: <text>', oldest first, cut from the oldest message"
    )
    (tmp_path / "ranker.json").write_text(json.dumps(raw))
    assert ModelMeta.load(tmp_path).context_format == OLDEST_FIRST
    with pytest.raises(ValueError, match="context format"):
        ModelMeta(labels=["a"], base_model="x", context_format="sideways")
    for pooling in (POOL_MEAN_NEWEST, POOL_MEAN_3NEWEST):
        with pytest.raises(ValueError, match="needs"):
            ModelMeta(labels=["a"], base_model="x", pooling=pooling)
    with pytest.raises(ValueError, match="unknown pooling"):
        ModelMeta(labels=["a"], base_model="x", context_format=NEWEST_FIRST, pooling="max")


def test_an_old_model_directory_serves_in_its_own_format(trained: Path, tmp_path: Path) -> None:
    """``trained`` is newest-first (the default); the same weights with a ranker.json of before
    (no format, no pooling) serve one-segment inputs, as they did."""
    assert ModelMeta.load(trained).context_format == NEWEST_FIRST
    old = tmp_path / "old"
    shutil.copytree(trained, old, ignore=shutil.ignore_patterns("onnx"))
    raw = json.loads((old / "ranker.json").read_text())
    del raw["context_format"], raw["pooling"]
    (old / "ranker.json").write_text(json.dumps(raw))

    model, tokenizer, meta = load_model_dir(old)
    assert model.sep_token_id is None and meta.context_format == OLDEST_FIRST
    expected = predict_logits(model, tokenize(tokenizer, CONTEXTS, meta.max_tokens))
    ranker = Ranker(old, backend="fp32", threads=1)
    assert np.allclose(ranker.logits(CONTEXTS), expected / meta.temperature, atol=1e-5)
    assert ranker.rank(CONTEXTS[:1], k=3)[0]
    onnx = Ranker(old, backend="onnx", threads=1)  # exported in the directory's format
    assert np.allclose(onnx.logits(CONTEXTS), ranker.logits(CONTEXTS), atol=1e-4)
    # The newest-first directory tokenises the same strings as pairs: other logits.
    new = Ranker(trained, backend="fp32", threads=1)
    assert not np.allclose(new.logits(CONTEXTS[:1]), ranker.logits(CONTEXTS[:1]), atol=1e-4)
    # A first customer message is one segment in both formats: the same input.
    assert np.allclose(new.logits(CONTEXTS[2:]), ranker.logits(CONTEXTS[2:]), atol=1e-5)


@pytest.mark.parametrize(("pooling", "weight"), [(POOL_MEAN_NEWEST, 1.0), (POOL_MEAN_3NEWEST, 3.0)])
def test_newest_pooling_adds_the_newest_messages_mean(
    tiny_base: Path, tok: object, pooling: str, weight: float
) -> None:
    torch.manual_seed(0)
    encoder = load_encoder(str(tiny_base))
    model = build_classifier(encoder, 3, tok, NEWEST_FIRST, pooling).eval()
    ids = tokenize_contexts(tok, CONTEXTS, 64, NEWEST_FIRST)
    input_ids, mask = collate(ids)
    sep = int(tok.sep_token_id)  # type: ignore[attr-defined]
    types = torch.zeros_like(input_ids)
    newest = torch.zeros_like(input_ids)
    for row, x in enumerate(ids):
        first_sep = x.index(sep)
        types[row, first_sep + 1 : len(x)] = 1
        newest[row, : first_sep + 1] = 1
    with torch.inference_mode():
        hidden = encoder(input_ids=input_ids, attention_mask=mask, token_type_ids=types)
        h = hidden.last_hidden_state  # (batch, seq, hidden)
        expected = mean_pool(h, mask) + weight * mean_pool(h, newest)
        assert torch.allclose(model.embed(input_ids, mask), expected, atol=1e-5)
    assert types[0].sum() > 0 and types[2].sum() == 0  # segment B only with earlier turns


@pytest.mark.parametrize("pooling", [POOL_MEAN, POOL_MEAN_NEWEST, POOL_MEAN_3NEWEST])
def test_onnx_export_keeps_the_directorys_format(
    tiny_base: Path, tok: object, tmp_path: Path, pooling: str
) -> None:
    torch.manual_seed(1)
    model = build_classifier(load_encoder(str(tiny_base)), 4, tok, NEWEST_FIRST, pooling)
    meta = ModelMeta(
        labels=["a", "b", "c", "d"],
        base_model=str(tiny_base),
        max_tokens=64,
        context_format=NEWEST_FIRST,
        pooling=pooling,
    )
    save_model_dir(tmp_path, model, tok, meta)
    fp32 = Ranker(tmp_path, backend="fp32", threads=1)
    onnx = Ranker(tmp_path, backend="onnx", threads=1)  # exported on first load
    # Mixed lengths (padded batch) and one at a time (unpadded).
    assert np.allclose(onnx.predict(CONTEXTS), fp32.predict(CONTEXTS), atol=1e-4)
    assert np.allclose(onnx.predict(CONTEXTS[:1]), fp32.predict(CONTEXTS[:1]), atol=1e-4)


def test_examples_know_their_position(tmp_path: Path) -> None:
    turns = []
    for i in range(5):
        turns += [{"role": "customer", "text": f"q{i}"}, {"role": "agent", "text": "a"}]
    (tmp_path / "c.jsonl").write_text(json.dumps({"id": "c", "turns": turns}) + "\n")
    examples = list(iter_examples(read_conversations(tmp_path / "c.jsonl"), None))
    assert [e.customer_turns for e in examples] == [1, 2, 3, 4, 5]
    assert [position_bucket(e.customer_turns) for e in examples] == ["1", "2-3", "2-3", "4+", "4+"]


def test_evaluate_reports_confidence_and_positions(trained: Path, data_dir: Path) -> None:
    result = evaluate(EvalConfig(model=str(trained), data=str(data_dir / "test.jsonl"), threads=1))
    assert result["context_format"] == NEWEST_FIRST
    for key in ("confident_precision", "coverage_at_threshold", "confident_correct"):
        assert 0.0 <= result[key] <= 1.0
    assert result["n_free"] == 1 and result["n_unknown"] == 0
    # Banking77 is single-turn: every turn is the first customer turn.
    assert set(result["by_position"]) == {"1"}
    assert result["by_position"]["1"]["n"] == result["n"]
    assert result["by_position"]["1"]["top1"] == pytest.approx(result["top1"])


def test_train_defaults_are_the_measured_winner() -> None:
    from ranker.train import TrainConfig

    cfg = TrainConfig(data="d", catalog="c", out="o")
    assert (cfg.context_format, cfg.pooling) == (NEWEST_FIRST, POOL_MEAN_NEWEST)
    old = TrainConfig(data="d", catalog="c", out="o", context_format=OLDEST_FIRST)
    assert old.pooling == POOL_MEAN
