"""Distillation: a model learns a trained teacher's probabilities beside the labels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ranker.serving import Ranker
from ranker.train import TrainConfig, distillation_loss, train
from tests.ranker.conftest import tiny_recipe
from tests.ranker.test_train_serve import _test_set


def _relabelled(teacher: Path, out: Path, labels: list[str]) -> Path:
    """A copy of the model directory ``teacher`` whose outputs are named ``labels``."""
    shutil.copytree(teacher, out)
    meta = json.loads((out / "ranker.json").read_text())
    meta["labels"] = labels
    (out / "ranker.json").write_text(json.dumps(meta))
    return out


def test_the_loss_is_the_labels_at_weight_0_and_the_teacher_at_weight_1() -> None:
    torch.manual_seed(0)
    logits, teacher = torch.randn(8, 5), torch.randn(8, 5)  # (batch, labels)
    y = torch.randint(0, 5, (8,))
    hard = nn.CrossEntropyLoss()

    def loss(student: torch.Tensor, weight: float) -> torch.Tensor:
        return distillation_loss(
            student, y, teacher=teacher, weight=weight, temperature=2.0, hard=hard
        )

    assert torch.allclose(loss(logits, 0.0), hard(logits, y))
    assert loss(teacher, 1.0).item() == pytest.approx(0.0, abs=1e-6)
    # A step down the soft term's gradient brings the model's probabilities to the teacher's.
    student = logits.clone().requires_grad_(True)
    loss(student, 1.0).backward()
    assert student.grad is not None
    moved = (logits - 0.5 * student.grad).detach()
    assert loss(moved, 1.0) < loss(logits, 1.0)


def test_a_student_follows_its_teacher_even_where_the_teacher_names_other_keys(
    tmp_path: Path, trained: Path, tiny_base: Path, data_dir: Path
) -> None:
    # The trained model with its outputs renamed one key along: it consistently puts the
    # probability of key i on key i+1. A student that learns only from it (weight 1) must
    # follow it, key by key, which it can only do through the teacher's probabilities mapped
    # by key; trained on the labels alone it would not.
    teacher_meta = json.loads((trained / "ranker.json").read_text())
    labels = teacher_meta["labels"]
    rotated = _relabelled(trained, tmp_path / "teacher", labels[1:] + labels[:1])
    out = tmp_path / "student"
    train(tiny_recipe(data_dir, tiny_base, out, teacher=str(rotated), distill_weight=1.0))

    student, teacher = Ranker(out, threads=1), Ranker(rotated, threads=1)
    contexts, truth = _test_set(data_dir, student.tokenizer)
    ours = [r[0][0] for r in student.rank(contexts, k=1)]
    theirs = [r[0][0] for r in teacher.rank(contexts, k=1)]
    assert np.mean([a == b for a, b in zip(ours, theirs, strict=True)]) >= 0.6
    assert np.mean([a == b for a, b in zip(ours, truth, strict=True)]) <= 0.4
    assert json.loads((out / "ranker.json").read_text())["train_args"]["teacher"] == str(rotated)


def test_a_teacher_without_an_output_for_a_catalog_key_is_refused(
    tmp_path: Path, trained: Path, tiny_base: Path, data_dir: Path
) -> None:
    labels = json.loads((trained / "ranker.json").read_text())["labels"]
    other = _relabelled(trained, tmp_path / "teacher", ["not_in_the_catalog", *labels[1:]])
    with pytest.raises(ValueError, match=f"no output for {labels[0]}"):
        train(tiny_recipe(data_dir, tiny_base, tmp_path / "student", teacher=str(other)))
    assert not (tmp_path / "student" / "ranker.json").exists()


def test_distillation_options_are_checked() -> None:
    with pytest.raises(ValueError, match="not --freeze-encoder"):
        TrainConfig(data="d", catalog="c", out="o", teacher="t", freeze_encoder=True)
    with pytest.raises(ValueError, match="distill-weight"):
        TrainConfig(data="d", catalog="c", out="o", teacher="t", distill_weight=1.5)


def test_a_teacher_trained_on_another_cpu_is_not_timed_again(
    tmp_path: Path, trained: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its logits are computed once, in batches: the stored backend serves them (re-timing the
    # backends, as a serving worker on another CPU does, would cost seconds each).
    from ranker import serving
    from ranker.data import iter_examples, read_conversations
    from ranker.train import teacher_logits

    teacher = shutil.copytree(trained, tmp_path / "teacher")
    meta = json.loads((teacher / "ranker.json").read_text())
    meta["metrics"]["backend_cpu_flags"] = ["a CPU unlike this one"]
    accurate = {"dev_top1": 0.9, "agreement_with_fp32": 1.0, "latency_128_ms": 1.0}
    meta["metrics"]["backends"] = {"fp32": accurate, "onnx": accurate}  # two to choose from
    meta["backend"] = "fp32"
    (teacher / "ranker.json").write_text(json.dumps(meta))

    def timed(*args, **kwargs):
        raise AssertionError("the teacher's backends were timed again")

    monkeypatch.setattr(serving, "measure_latency", timed)
    examples = list(iter_examples(read_conversations(data_dir / "test.jsonl"), None, 64))[:8]
    labels = meta["labels"]
    cfg = TrainConfig(data="unused", catalog="unused", out="unused", teacher=str(teacher))
    logits = teacher_logits(str(teacher), examples, labels[::-1], cfg)
    assert logits.shape == (8, len(labels))
