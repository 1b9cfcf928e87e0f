"""Evaluation of a model directory on a conversations file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ranker.data import POSITIONS, iter_examples, position_bucket, read_conversations
from ranker.metrics import (
    TOP_K,
    abstain_rate,
    open_set_metrics,
    probability_metrics,
    selective_metrics,
    topk_accuracy,
)
from ranker.serving import Ranker


@dataclass
class EvalConfig:
    """Arguments of ``python -m ranker evaluate``."""

    model: str = field(metadata={"help": "model directory (written by `python -m ranker train`)"})
    data: str = field(metadata={"help": "conversations to evaluate on (JSONL)"})
    allowed: str | None = field(
        default=None,
        metadata={"help": "file with one template key a line: rank only among these"},
    )
    exclude_sent: bool = field(
        default=False,
        metadata={"help": "leave out templates already sent earlier in the conversation"},
    )
    backend: str | None = field(
        default=None,
        metadata={"help": "serving backend; default: the one stored in the model directory"},
    )
    threads: int | None = field(
        default=None, metadata={"help": "intra-op threads; default: RANKER_THREADS or 1"}
    )
    max_examples: int | None = field(
        default=None, metadata={"help": "evaluate only the first this many agent turns"}
    )


def evaluate(cfg: EvalConfig) -> dict[str, Any]:
    """Top-k accuracy, NLL and calibration on labelled turns; confidence and abstention with the
    turns that no template fits; the same figures by turn position.

    ``n`` counts agent turns whose template is in the model's label set (and in ``allowed``, if
    given); ``n_free`` counts free-text agent turns (``template: null``), ``n_unknown`` turns
    whose template the model does not know. Accuracy and calibration use probabilities
    renormalised over ``allowed`` (and the unsent templates with ``--exclude-sent``); the
    confidence figures use the probability the live panel shows and the threshold was fitted
    on (the calibrated softmax over all labels, not renormalised), see ``Ranker.probabilities``.

    - ``confident_precision``: right confident top-1 on template turns / all confident turns,
      free-text and unknown-template turns included (a confident suggestion there is wrong);
    - ``coverage_at_threshold``: share of template turns with a confident suggestion;
      ``confident_correct``: share of template turns whose suggestion is confident and right;
      ``precision_at_threshold``: top-1 precision of the confident template turns alone;
    - ``abstain_rate``: share of free-text turns with no confident suggestion;
      ``unknown_abstain_rate``: the same for turns of templates the model does not know;
    - ``by_position``: ``{"1"|"2-3"|"4+": {...}}`` after how many customer messages the agent
      turn comes (see ``ranker.data.position_bucket``).
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
    unknown = [e for e in examples if e.label is not None and e.label not in index]
    everyone = labelled + free + unknown

    logits = ranker.logits([e.context for e in everyone])  # (n, labels), calibrated
    exclude = [e.sent for e in everyone] if cfg.exclude_sent else None
    probs = ranker.probabilities(logits, allowed, exclude)  # renormalised
    shown = ranker.probabilities(logits, allowed, exclude, renormalise=False)
    y = np.array(
        [index[str(e.label)] for e in labelled] + [-1] * (len(free) + len(unknown)), dtype=np.int64
    )
    n = len(labelled)
    kinds = np.array([0] * n + [1] * len(free) + [2] * len(unknown))  # labelled, free, unknown
    result: dict[str, Any] = {"n": n}
    if n:
        result.update(probability_metrics(probs[:n], y[:n]))
        result.update(selective_metrics(shown[:n], y[:n], meta.threshold))
    else:
        result.update({"top1": 0.0, "top3": 0.0, "top5": 0.0, "nll": None, "ece": None})
    result.update(_confidence(shown, y, kinds, meta.threshold))
    buckets = np.array([position_bucket(e.customer_turns) for e in everyone])
    result["by_position"] = {}
    for bucket in POSITIONS:
        sel = buckets == bucket
        if sel.any():
            result["by_position"][bucket] = _position_figures(
                probs[sel], shown[sel], y[sel], kinds[sel], meta.threshold
            )
    result["threshold"] = meta.threshold
    result["context_format"] = meta.context_format
    result["backend"] = ranker.backend
    return result


def _confidence(
    shown: np.ndarray, y: np.ndarray, kinds: np.ndarray, threshold: float
) -> dict[str, Any]:
    """The confidence and abstention figures of :func:`evaluate`'s docstring."""
    figures = open_set_metrics(shown, y, threshold)
    free, unknown = kinds == 1, kinds == 2
    return {
        "confident_precision": figures["confident_precision"],
        "confident_correct": figures["confident_correct"],
        "n_free": int(free.sum()),
        "abstain_rate": abstain_rate(shown[free], threshold) if free.any() else None,
        "n_unknown": int(unknown.sum()),
        "unknown_abstain_rate": abstain_rate(shown[unknown], threshold) if unknown.any() else None,
    }


def _position_figures(
    probs: np.ndarray, shown: np.ndarray, y: np.ndarray, kinds: np.ndarray, threshold: float
) -> dict[str, Any]:
    labelled = kinds == 0
    out: dict[str, Any] = {"n": int(labelled.sum())}
    for k in TOP_K:
        out[f"top{k}"] = topk_accuracy(probs[labelled], y[labelled], k)
    out.update(_confidence(shown, y, kinds, threshold))
    out["coverage_at_threshold"] = (
        float((shown[labelled].max(axis=1) >= threshold).mean()) if labelled.any() else 0.0
    )
    return out
