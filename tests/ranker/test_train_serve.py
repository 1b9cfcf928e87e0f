"""Training a tiny model, the model directory, serving and the evaluate command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ranker import serving
from ranker.cli import main
from ranker.data import iter_examples, read_conversations
from ranker.encoding import tokenize
from ranker.model import (
    ModelMeta,
    TemplateClassifier,
    load_encoder,
    load_model_dir,
    load_tokenizer,
    predict_logits,
    save_model_dir,
)
from ranker.serving import AUTO_BACKENDS, Ranker, choose_backend
from ranker.utils import cpu_flags, native_bf16, speed_flags
from tests.ranker.conftest import KEYS

ROOT = Path(__file__).resolve().parents[2]


def _test_set(data_dir: Path, tokenizer: object) -> tuple[list[str], list[str]]:
    examples = list(iter_examples(read_conversations(data_dir / "test.jsonl"), tokenizer))
    labelled = [e for e in examples if e.label]
    return [e.context for e in labelled], [str(e.label) for e in labelled]


def test_trained_tiny_model_beats_chance_and_untrained(trained: Path, data_dir: Path) -> None:
    ranker = Ranker(trained, threads=1)
    contexts, labels = _test_set(data_dir, ranker.tokenizer)
    top1 = np.mean([r[0][0] == y for r, y in zip(ranker.rank(contexts, k=1), labels, strict=True)])
    # Chance is 1/5; an untrained head over a random encoder stays near it.
    assert top1 >= 0.6
    meta = ModelMeta.load(trained)
    assert meta.metrics["history"], "training recorded no epochs"
    assert meta.temperature > 0
    assert 0.0 <= meta.threshold <= 1.0

    torch.manual_seed(0)
    untrained = TemplateClassifier(load_encoder(meta.base_model), len(KEYS))
    logits = predict_logits(untrained, tokenize(ranker.tokenizer, contexts, 64))
    untrained_top1 = np.mean(
        [meta.labels[i] == y for i, y in zip(logits.argmax(1), labels, strict=True)]
    )
    assert top1 > untrained_top1 + 0.25


def test_freeze_encoder_trains_the_head_only(
    tmp_path: Path, tiny_base: Path, data_dir: Path
) -> None:
    from ranker.train import TrainConfig, train

    cfg = TrainConfig(
        data=str(data_dir / "train.jsonl"),
        catalog=str(data_dir / "catalog.csv"),
        out=str(tmp_path),
        base_model=str(tiny_base),
        freeze_encoder=True,
        epochs=20,
        lr=1e-3,
        dev_fraction=0.2,
        max_tokens=64,
        backend="fp32",
        progress=False,
        threads=1,
    )
    metrics = train(cfg)
    assert metrics["history"]
    before = load_encoder(str(tiny_base)).state_dict()
    after = load_encoder(str(tmp_path / "encoder")).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # Prototype head over a random encoder's mean-pooled embeddings: a bag of token vectors,
    # already well above chance (20%) on five intents.
    assert metrics["dev_top1"] >= 0.4


def test_model_dir_is_self_describing(trained: Path) -> None:
    names = {p.name for p in trained.iterdir()}
    assert {"ranker.json", "head.safetensors", "encoder", "reliability.png"} <= names
    meta = json.loads((trained / "ranker.json").read_text())
    assert sorted(meta["labels"]) == sorted(KEYS)  # catalog order
    for key in ("base_model", "max_tokens", "context_format", "temperature", "threshold"):
        assert key in meta
    assert meta["train_args"]["epochs"] == 4
    assert "ece" in meta["metrics"]["calibration_after"]


def test_round_trip_gives_same_predictions(tmp_path: Path, tiny_base: Path) -> None:
    torch.manual_seed(3)
    model = TemplateClassifier(load_encoder(str(tiny_base)), 4)
    tokenizer = load_tokenizer(str(tiny_base))
    labels = ["a", "b", "c", "d"]
    meta = ModelMeta(labels=labels, base_model=str(tiny_base), max_tokens=32, temperature=2.0)
    save_model_dir(tmp_path, model, tokenizer, meta)
    texts = ["customer: where is my card", "customer: hi\nagent: hello\ncustomer: pin blocked"]
    expected = predict_logits(model, tokenize(tokenizer, texts, 32))
    loaded, _, meta2 = load_model_dir(tmp_path)
    assert meta2.labels == labels
    assert np.allclose(predict_logits(loaded, tokenize(tokenizer, texts, 32)), expected, atol=1e-5)
    ranker = Ranker(tmp_path, threads=1)
    assert np.allclose(ranker.logits(texts), expected / 2.0, atol=1e-5)
    probs = ranker.predict(texts)
    assert np.allclose(probs.sum(1), 1.0)


def test_rank_respects_allowed_exclude_and_cache(trained: Path) -> None:
    ranker = Ranker.load(trained, threads=1)
    assert Ranker.load(trained, threads=1) is ranker
    ctx = ranker.build_context([("customer", "my card has still not arrived")])
    assert ctx == "customer: my card has still not arrived"
    (full,) = ranker.rank([ctx], k=5)
    assert len(full) == 5
    assert abs(sum(p for _, p in full) - 1.0) < 1e-6
    assert [p for _, p in full] == sorted((p for _, p in full), reverse=True)
    allowed = {"exchange_rate", "change_pin"}
    (restricted,) = ranker.rank([ctx], k=5, allowed=allowed)
    assert {key for key, _ in restricted} == allowed
    assert abs(sum(p for _, p in restricted) - 1.0) < 1e-6
    (excluded,) = ranker.rank([ctx], k=5, exclude=[{full[0][0]}])
    assert full[0][0] not in {key for key, _ in excluded}
    assert ranker.rank([], k=3) == []


@pytest.mark.parametrize("backend", ["int8", "int8-mixed"])
def test_int8_backends_agree_with_fp32(trained: Path, data_dir: Path, backend: str) -> None:
    fp32 = Ranker(trained, backend="fp32", threads=1)
    int8 = Ranker(trained, backend=backend, threads=1)
    contexts, _ = _test_set(data_dir, fp32.tokenizer)
    agree = (fp32.logits(contexts).argmax(1) == int8.logits(contexts).argmax(1)).mean()
    assert agree >= 0.9


def test_onnx_backends_round_trip_from_the_model_dir(
    trained: Path, data_dir: Path, tmp_path: Path
) -> None:
    import shutil

    model_dir = tmp_path / "model"
    shutil.copytree(trained, model_dir, ignore=shutil.ignore_patterns("onnx"))
    fp32 = Ranker(model_dir, backend="fp32", threads=1)
    contexts, _ = _test_set(data_dir, fp32.tokenizer)
    contexts = contexts[:40]  # mixed lengths: batches are padded, so the mask path is exercised
    onnx = Ranker(model_dir, backend="onnx", threads=1)  # exports on first load
    assert (model_dir / "onnx" / "model.onnx").exists()
    assert (model_dir / "onnx" / "model-int8.onnx").exists()
    assert np.allclose(onnx.predict(contexts), fp32.predict(contexts), atol=1e-4)
    single = [fp32.predict([c]) for c in contexts[:5]]  # unpadded, batch of one
    assert np.allclose(np.vstack(single), onnx.predict(contexts[:5]), atol=1e-4)
    assert onnx.rank(contexts[:3], k=3)[0][0][0] == fp32.rank(contexts[:3], k=3)[0][0][0]

    int8 = Ranker(model_dir, backend="onnx-int8", threads=1)
    p32, p8 = fp32.predict(contexts), int8.predict(contexts)
    assert (p32.argmax(1) == p8.argmax(1)).mean() >= 0.9
    assert np.abs(p32 - p8).max() < 0.1


def test_choose_backend_measures_each_and_keeps_accuracy(trained: Path, data_dir: Path) -> None:
    ranker = Ranker(trained, backend="fp32", threads=1)
    contexts, labels = _test_set(data_dir, ranker.tokenizer)
    ids = tokenize(ranker.tokenizer, contexts, 64)
    y = np.array([ranker.labels.index(k) for k in labels])
    choice = choose_backend(trained, ids, y, "auto")
    emulated = {"bf16"} if native_bf16(cpu_flags()) is False else set()
    assert set(choice["measured"]) == set(AUTO_BACKENDS) - emulated
    assert "int8" not in choice["measured"]  # per-tensor: measured only by name
    chosen = choice["measured"][choice["backend"]]
    assert chosen["dev_top1"] >= choice["measured"]["fp32"]["dev_top1"] - 0.003
    assert chosen["agreement_with_fp32"] >= 0.985
    assert choice["cpu_flags"] == speed_flags(cpu_flags())  # what a serving CPU is compared with


def test_choose_backend_skips_emulated_bf16(
    monkeypatch: pytest.MonkeyPatch, trained: Path, data_dir: Path
) -> None:
    ranker = Ranker(trained, backend="fp32", threads=1)
    contexts, labels = _test_set(data_dir, ranker.tokenizer)
    ids = tokenize(ranker.tokenizer, contexts, 64)[:40]
    y = np.array([ranker.labels.index(k) for k in labels])[:40]
    monkeypatch.setattr(serving, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    choice = choose_backend(trained, ids, y, "auto")
    assert set(choice["measured"]) == set(AUTO_BACKENDS) - {"bf16"}
    # Asked for by name it is still measured: the person knows their CPU.
    assert set(choose_backend(trained, ids, y, "bf16")["measured"]) == {"fp32", "bf16"}


def test_evaluate_cli_prints_json_last_line(trained: Path, data_dir: Path) -> None:
    cmd = [sys.executable, "-m", "ranker", "evaluate", "--model", str(trained)]
    cmd += ["--data", str(data_dir / "test.jsonl"), "--threads", "1"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("top1", "top3", "top5", "nll", "ece", "n", "abstain_rate"):
        assert key in result
    assert result["n"] == 150
    assert result["n_free"] == 1
    assert result["top1"] <= result["top3"] <= result["top5"]
    assert result["top1"] >= 0.6


def test_evaluate_options_allowed_and_exclude_sent(
    trained: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allowed = tmp_path / "allowed.txt"
    allowed.write_text("card_arrival\nchange_pin\n")
    args = ["evaluate", "--model", str(trained), "--data", str(data_dir / "test.jsonl")]
    assert main([*args, "--allowed", str(allowed), "--exclude-sent", "--threads", "1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n"] == 60  # only the turns whose template is allowed
    assert result["top5"] == 1.0  # two candidates: both always in the top 5
    assert result["top1"] >= 0.6
