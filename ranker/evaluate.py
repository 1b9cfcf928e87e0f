"""Evaluation of a model directory on a conversations file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ranker import calibration
from ranker.data import iter_examples, read_conversations
from ranker.serving import Ranker


@dataclass
class EvalConfig:
    """Arguments of ``python -m ranker evaluate``."""

    model: str
    data: str
    allowed: str | None = None  # file with one template key a line: rank only among these
    exclude_sent: bool = False  # leave out templates already sent in the conversation
    backend: str | None = None  # default: the backend stored in the model directory
    threads: int | None = None
    max_examples: int | None = None


def evaluate(cfg: EvalConfig) -> dict[str, Any]:
    """Top-k accuracy, NLL and calibration on labelled turns; abstention on free-text turns.

    ``n`` counts agent turns whose template is in the model's label set (and in ``allowed``, if
    given); ``n_free`` counts free-text agent turns (``template: null``).
    """
    ranker = Ranker(cfg.model, backend=cfg.backend, threads=cfg.threads)
    meta = ranker.meta
    index = ranker.label_index
    allowed: set[str] | None = None
    if cfg.allowed:
        with open(cfg.allowed, encoding="utf-8") as f:
            allowed = {line.strip() for line in f if line.strip()}
    convs = read_conversations(cfg.data)
    examples = list(iter_examples(convs, ranker.tokenizer, meta.max_tokens, meta.max_messages))
    if cfg.max_examples is not None:
        examples = examples[: cfg.max_examples]
    labelled = [e for e in examples if e.label in index and (allowed is None or e.label in allowed)]
    free = [e for e in examples if e.label is None]

    exclude = [e.sent for e in labelled] if cfg.exclude_sent else None
    probs = ranker.predict([e.context for e in labelled], allowed, exclude)  # (n, labels)
    y = np.array([index[e.label] for e in labelled if e.label], dtype=np.int64)
    result: dict[str, Any] = {"n": len(y)}
    if len(y):
        order = np.argsort(-probs, axis=1)
        for k in (1, 3, 5):
            result[f"top{k}"] = float((order[:, :k] == y[:, None]).any(axis=1).mean())
        p_true = probs[np.arange(len(y)), y]
        result["nll"] = float(-np.log(np.maximum(p_true, 1e-12)).mean())
        ece, mce = calibration.ece_mce(probs, y)
        result["ece"] = ece
        result["mce"] = mce
        result["brier"] = calibration.brier(probs, y)
        conf = probs.max(axis=1)
        kept = conf >= meta.threshold
        result["coverage_at_threshold"] = float(kept.mean())
        result["precision_at_threshold"] = float(
            (order[kept, 0] == y[kept]).mean() if kept.any() else 0.0
        )
    else:
        result.update({"top1": 0.0, "top3": 0.0, "top5": 0.0, "nll": None, "ece": None})
    result["n_free"] = len(free)
    if free:
        pf = ranker.predict([e.context for e in free], allowed)
        result["abstain_rate"] = float((pf.max(axis=1) < meta.threshold).mean())
    else:
        result["abstain_rate"] = None
    result["threshold"] = meta.threshold
    result["backend"] = ranker.backend
    return result
