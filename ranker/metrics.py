"""Classification metrics: top-k accuracy, NLL, ECE/MCE, Brier, and the confidence threshold's
coverage, precision and abstention (on template turns alone, and with the turns no template fits).

The one implementation behind training (dev figures, early stopping), evaluation, the backend
choice, the scaling study and the benchmarks' baselines, so that their figures compare. Inputs
are numpy arrays: scores ``(n, labels)``, logits or probabilities, and label indices ``(n,)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import log_softmax

FloatArray = NDArray[np.floating]
IntArray = NDArray[np.integer]

TOP_K = (1, 3, 5)  # the k of top-k accuracy that evaluation and the benchmarks report
ECE_BINS = 15
PROB_EPS = 1e-12  # floor of a probability before its log: a zero is "very unlikely", not inf


def topk_accuracy(scores: ArrayLike, labels: IntArray, k: int) -> float:
    """Share of rows whose label is among the ``k`` highest scores (logits or probabilities).

    Ties go to the lower column, the order in which ``Ranker.rank`` shows them. No rows: 0.
    """
    if len(labels) == 0:
        return 0.0
    top = np.argsort(-np.asarray(scores), axis=1, kind="stable")[:, :k]  # (n, k)
    return float((top == np.asarray(labels)[:, None]).any(axis=1).mean())


def ranked_topk_accuracy(rankings: Sequence[Sequence[str]], labels: Sequence[str], k: int) -> float:
    """:func:`topk_accuracy` of ranked key lists (best first), e.g. after a blend. No rows: 0."""
    if not labels:
        return 0.0
    hits = [label in ranked[:k] for ranked, label in zip(rankings, labels, strict=True)]
    return sum(hits) / len(hits)


def nll(logits: ArrayLike, labels: IntArray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of ``labels`` under ``softmax(logits / temperature)``."""
    lp = log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=-1)  # (n, labels)
    return float(-lp[np.arange(len(labels)), labels].mean())


def nll_of_probs(probs: ArrayLike, labels: IntArray, eps: float = PROB_EPS) -> float:
    """Mean negative log-likelihood of ``labels`` under probabilities ``(n, labels)``.

    For sources that give probabilities, not logits (the served ranker, after masking and
    renormalising; a scikit-learn baseline); a probability is floored at ``eps`` first.
    """
    p_true = np.asarray(probs, dtype=np.float64)[np.arange(len(labels)), labels]  # (n,)
    return float(-np.log(np.maximum(p_true, eps)).mean())


def reliability_bins(
    conf: FloatArray, correct: FloatArray, n_bins: int = ECE_BINS
) -> list[tuple[float, float, int]]:
    """(mean confidence, accuracy, count) per equal-width confidence bin of ``[0, 1]``."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        sel = idx == b
        n = int(sel.sum())
        out.append(
            (float(conf[sel].mean()) if n else 0.0, float(correct[sel].mean()) if n else 0.0, n)
        )
    return out


def ece_mce(probs: FloatArray, labels: IntArray, n_bins: int = ECE_BINS) -> tuple[float, float]:
    """Expected and maximum calibration error of the top-1 confidence, equal-width bins."""
    if len(labels) == 0:
        return 0.0, 0.0
    conf = probs.max(axis=-1)  # (n,)
    correct = (probs.argmax(axis=-1) == labels).astype(np.float64)  # (n,)
    gaps = [(abs(c - a), n) for c, a, n in reliability_bins(conf, correct, n_bins) if n]
    ece = sum(g * n for g, n in gaps) / len(labels)
    return float(ece), float(max(g for g, _ in gaps))


def brier(probs: FloatArray, labels: IntArray) -> float:
    """Multi-class Brier score: mean squared distance to the one-hot label."""
    onehot = np.zeros_like(probs)  # (n, labels)
    onehot[np.arange(len(labels)), labels] = 1.0
    return float(((probs - onehot) ** 2).sum(axis=-1).mean())


def probability_metrics(
    probs: FloatArray, labels: IntArray, ks: Sequence[int] = TOP_K
) -> dict[str, float]:
    """``top{k}`` for each of ``ks``, ``nll``, ``ece``, ``mce`` and ``brier`` of probabilities.

    What evaluation reports for the ranker and the benchmarks for their baselines.
    """
    out = {f"top{k}": topk_accuracy(probs, labels, k) for k in ks}
    out["nll"] = nll_of_probs(probs, labels)
    out["ece"], out["mce"] = ece_mce(probs, labels)
    out["brier"] = brier(probs, labels)
    return out


def selective_metrics(probs: FloatArray, labels: IntArray, threshold: float) -> dict[str, float]:
    """Coverage (share of rows whose top-1 probability reaches ``threshold``) and the top-1
    precision of those rows (0 when none does)."""
    kept = probs.max(axis=1) >= threshold  # (n,)
    correct = probs.argmax(axis=1) == labels  # (n,)
    return {
        "coverage_at_threshold": float(kept.mean()),
        "precision_at_threshold": float(correct[kept].mean()) if kept.any() else 0.0,
    }


def abstain_rate(probs: FloatArray, threshold: float) -> float:
    """Share of rows whose top-1 probability stays below ``threshold`` (no confident one)."""
    return float((probs.max(axis=1) < threshold).mean())


def open_set_metrics(
    probs: FloatArray, labels: IntArray, threshold: float
) -> dict[str, float | None]:
    """Confidence figures over turns where a template fits (``labels >= 0``) and turns where
    none does (``labels == -1``: free text, or a template the model does not know).

    A row is *confident* when its top-1 probability reaches ``threshold``.

    - ``confident_precision``: confident rows whose top-1 is right / all confident rows, the
      rows where no template fits included (a confident suggestion there is wrong); 0 if none;
    - ``coverage``: share of template rows with a confident suggestion (right or wrong);
    - ``confident_correct``: share of template rows whose suggestion is confident and right;
    - ``no_fit_abstained``: share of no-fit rows with no confident suggestion (``None`` if none);
    - ``n_fit``, ``n_no_fit``: the row counts.
    """
    labels = np.asarray(labels)
    confident = probs.max(axis=1) >= threshold  # (n,)
    correct = probs.argmax(axis=1) == labels  # (n,); never for label -1
    fit = labels >= 0
    n_fit, n_no_fit = int(fit.sum()), int((~fit).sum())
    return {
        "confident_precision": float(correct[confident].mean()) if confident.any() else 0.0,
        "coverage": float(confident[fit].mean()) if n_fit else 0.0,
        "confident_correct": float((confident & correct)[fit].mean()) if n_fit else 0.0,
        "no_fit_abstained": float((~confident[~fit]).mean()) if n_no_fit else None,
        "n_fit": n_fit,
        "n_no_fit": n_no_fit,
    }


__all__ = [
    "ECE_BINS",
    "TOP_K",
    "abstain_rate",
    "brier",
    "ece_mce",
    "nll",
    "nll_of_probs",
    "open_set_metrics",
    "probability_metrics",
    "ranked_topk_accuracy",
    "reliability_bins",
    "selective_metrics",
    "topk_accuracy",
]
