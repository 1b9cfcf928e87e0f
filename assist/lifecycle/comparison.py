"""Two models on the same test turns: per-turn hits, and the paired difference with an interval.

The turns of one conversation are not independent (one customer, one topic, one agent), so the
interval of the difference is a bootstrap over conversations, the unit the split is made of:
each resample draws whole test conversations, with both models' hits on them (paired). The
difference is significant when its 95% interval leaves out zero.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

TOP_K = 5
BOOTSTRAP_RESAMPLES = 4000


@dataclass(frozen=True)
class TurnHits:
    """For each templated agent turn of a conversations file, in file order: whether the model
    ranked its template first / in the top 5 (a template the model does not know is a miss)."""

    turns: list[tuple[str, int]]  # (conversation id, turn index)
    top1: np.ndarray  # (turns,) bool
    topk: np.ndarray  # (turns,) bool


def turn_hits(model_dir: str, path: Path) -> TurnHits:
    """Rank every templated agent turn of `path` with the model in `model_dir`, the same
    examples and contexts as `ranker.evaluate` builds."""
    from ranker.data import iter_examples, read_conversations
    from ranker.serving import Ranker

    ranker = Ranker(model_dir)
    meta = ranker.meta
    examples = [
        example
        for example in iter_examples(
            read_conversations(path), ranker.tokenizer, meta.max_tokens, meta.max_messages
        )
        if example.label is not None
    ]
    turns = [(example.conversation_id, example.turn_index) for example in examples]
    if not examples:
        return TurnHits(turns, np.zeros(0, dtype=bool), np.zeros(0, dtype=bool))
    logits = ranker.logits([example.context for example in examples])  # (turns, labels)
    index = ranker.label_index
    labels = np.array([index.get(str(example.label), -1) for example in examples])  # (turns,)
    best = np.argsort(-logits, axis=1)[:, :TOP_K]  # (turns, k)
    return TurnHits(turns, best[:, 0] == labels, (best == labels[:, None]).any(axis=1))


@dataclass(frozen=True)
class PairedComparison:
    """The new model's share of hits minus the active one's, on the same turns."""

    metric: str
    new: float
    active: float
    difference: float
    low: float  # 95% bootstrap interval of the difference, over conversations
    high: float
    conversations: int
    turns: int

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "new": self.new,
            "active": self.active,
            "difference": self.difference,
            "low": self.low,
            "high": self.high,
            "conversations": self.conversations,
            "turns": self.turns,
            "significant": self.significant,
        }


def paired_comparison(
    new: TurnHits, active: TurnHits, *, metric: str = "top1", seed: int = 0
) -> PairedComparison:
    """`new` against `active` on the same turns: the difference of their hit shares with a
    paired bootstrap interval over conversations (scipy.stats.bootstrap, percentile)."""
    if new.turns != active.turns:
        raise ValueError("the two models were not measured on the same turns")
    a = getattr(new, metric).astype(float)
    b = getattr(active, metric).astype(float)
    if not len(a):
        raise ValueError("no templated test turns to compare on")
    ids = [conversation for conversation, _ in new.turns]
    _, group = np.unique(ids, return_inverse=True)
    # Per conversation: the new model's hits, the active one's, the number of turns.
    per_new, per_active = np.bincount(group, a), np.bincount(group, b)
    per_turns = np.bincount(group).astype(float)
    difference = float(a.mean() - b.mean())
    low = high = float("nan")
    if len(per_turns) > 1:

        def share_difference(x: np.ndarray, y: np.ndarray, n: np.ndarray, axis: int) -> Any:
            return (x.sum(axis=axis) - y.sum(axis=axis)) / n.sum(axis=axis)

        result = stats.bootstrap(
            (per_new, per_active, per_turns),
            share_difference,
            paired=True,
            vectorized=True,
            n_resamples=BOOTSTRAP_RESAMPLES,
            method="percentile",
            random_state=np.random.default_rng(seed),
        )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return PairedComparison(
        metric=metric,
        new=float(a.mean()),
        active=float(b.mean()),
        difference=difference,
        low=low,
        high=high,
        conversations=len(per_turns),
        turns=len(a),
    )
