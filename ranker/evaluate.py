"""Evaluation of a model directory on a conversations file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ranker.data import iter_examples, read_conversations
from ranker.metrics import abstain_rate, probability_metrics, selective_metrics
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
        result.update(probability_metrics(probs, y))
        result.update(selective_metrics(probs, y, meta.threshold))
    else:
        result.update({"top1": 0.0, "top3": 0.0, "top5": 0.0, "nll": None, "ece": None})
    result["n_free"] = len(free)
    if free:
        pf = ranker.predict([e.context for e in free], allowed)
        result["abstain_rate"] = abstain_rate(pf, meta.threshold)
    else:
        result["abstain_rate"] = None
    result["threshold"] = meta.threshold
    result["backend"] = ranker.backend
    return result
