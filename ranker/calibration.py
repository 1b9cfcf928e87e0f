"""Calibration: temperature scaling, the calibration report and reliability diagram, the
confidence threshold (and its simulated "no template fits" turns) and which served suggestion
it marks confident, invert_softmax.

After Guo et al. (2017) and Wang et al. (2024): one temperature fitted on held-out data by NLL;
for sources that give only probabilities, invert the softmax first and never re-softmax them.
The figures themselves (NLL, ECE, Brier) come from :mod:`ranker.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from scipy.special import softmax

from ranker.metrics import FloatArray, IntArray, brier, ece_mce, nll, reliability_bins


def invert_softmax(p: NDArray[np.floating], eps: float = 1e-12) -> FloatArray:
    """Logits from probabilities: ``z = log(max(p, eps))``, shifted so each row's max is 0.

    ``softmax(invert_softmax(p)) == p`` (up to the eps floor), so temperature scaling can then be
    applied to probability-only sources. Applying softmax to ``p`` itself instead would flatten
    the distribution.
    """
    z: FloatArray = np.log(np.maximum(np.asarray(p, dtype=np.float64), eps))
    shifted: FloatArray = z - z.max(axis=-1, keepdims=True)
    return shifted


def fit_temperature(logits: FloatArray, labels: IntArray) -> float:
    """The temperature T > 0 that minimises NLL on held-out ``(logits, labels)``."""
    if len(labels) == 0:
        return 1.0
    res = minimize_scalar(
        lambda log_t: nll(logits, labels, float(np.exp(log_t))),
        bounds=(np.log(0.01), np.log(100.0)),
        method="bounded",
        options={"xatol": 1e-5},
    )
    return float(np.exp(res.x))


@dataclass(frozen=True)
class CalibrationReport:
    """Top-1 calibration figures of one probability matrix."""

    ece: float
    mce: float
    brier: float
    nll: float


def report(logits: FloatArray, labels: IntArray, temperature: float = 1.0) -> CalibrationReport:
    """ECE (15 bins), MCE, Brier and NLL of ``softmax(logits / T)``."""
    probs = softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=-1)
    ece, mce = ece_mce(probs, labels)
    return CalibrationReport(ece, mce, brier(probs, labels), nll(logits, labels, temperature))


def choose_threshold(conf: FloatArray, correct: NDArray[np.bool_], target: float = 0.9) -> float:
    """Lowest confidence threshold at which top-1 precision of the kept examples reaches ``target``.

    Precision is measured on the examples whose confidence is at or above the threshold. Turns
    where no template fits (free text) belong in ``conf`` with ``correct`` False: a confident
    suggestion there is a wrong one. If no threshold reaches the target, the highest confidence
    is returned (keep almost nothing).
    """
    if len(conf) == 0:
        return 1.0
    order = np.argsort(-conf)
    prec = np.cumsum(correct[order]) / np.arange(1, len(conf) + 1)  # precision of top-n kept
    ok = np.nonzero(prec >= target)[0]
    if len(ok) == 0:
        return float(conf[order[0]])
    return float(conf[order[ok[-1]]])


def with_withdrawn_templates(probs: FloatArray, labels: IntArray) -> tuple[FloatArray, IntArray]:
    """``probs`` and ``labels`` with, appended, each template row again with its own template
    withdrawn: that probability set to 0, the rest renormalised, labelled -1 (no template fits).

    The threshold's evidence of "no template fits" where the held-out turns hold none, as in
    single-utterance data (every Banking77 query has its intent): a request that no template
    answers reaches the classifier as one whose template is missing from its labels, and the
    copy is exactly its softmax without that label (zeroing a probability and renormalising is
    masking its logit). Each template turn counts once each way, so the simulated share is
    one half: no free parameter to tune on the test. The copy is milder than the real thing:
    a model trained on a template also learnt to push that template's neighbours down, so on
    Banking77 with a quarter of its intents removed the threshold it gives abstains on about
    two thirds of the removed intents' queries, not all (docs/benchmarks.md, "open intents").
    """
    labels = np.asarray(labels)
    fit = np.nonzero(labels >= 0)[0]
    withdrawn = np.array(probs[fit], dtype=np.float64)
    withdrawn[np.arange(len(fit)), labels[fit]] = 0.0
    mass = withdrawn.sum(axis=1, keepdims=True)
    # A one-label model has nothing left to suggest: every row of zeros is an abstention.
    withdrawn = np.divide(withdrawn, mass, out=np.zeros_like(withdrawn), where=mass > 0)
    return (
        np.concatenate([np.asarray(probs, dtype=np.float64), withdrawn]),
        np.concatenate([labels, np.full(len(fit), -1, dtype=labels.dtype)]),
    )


# When the threshold also counts withdrawn-template turns (TrainConfig.withdrawn_templates):
# 'auto' where no held-out turn is free text, 'on' always, 'off' never.
WITHDRAWN_MODES = ("auto", "on", "off")


def threshold_evidence(
    probs: FloatArray, labels: IntArray, withdrawn: str = "auto"
) -> tuple[FloatArray, IntArray, bool]:
    """The rows the confidence threshold is chosen on, and whether withdrawn-template copies
    (:func:`with_withdrawn_templates`) were added to them: with ``withdrawn`` 'auto' where no
    row is a free-text turn (label -1), with 'on' always, with 'off' never."""
    labels = np.asarray(labels)
    simulated = withdrawn == "on" or (withdrawn == "auto" and bool((labels >= 0).all()))
    if simulated:
        probs, labels = with_withdrawn_templates(probs, labels)
    return probs, labels, simulated


def confident_flags(
    shown: Sequence[tuple[str, float]],
    classifier: Sequence[tuple[str, float]],
    threshold: float,
) -> list[bool]:
    """Which of the ``shown`` ``(key, probability)`` items to mark confident.

    The threshold was fitted on one event: the classifier's top-1 over *all* its labels, with
    its calibrated probability (not renormalised) at or above the threshold. ``classifier`` is
    its ranking over every template that may be shown, best first, with those probabilities
    (``Ranker.rank(..., k=len(labels), renormalise=False)``); ``shown`` is the list after any
    later step that changes probabilities (the new-template blend, the external re-ranker). At
    most one item is confident: the classifier's first key, when

    - its calibrated probability reaches ``threshold``;
    - it is the top-1 over all labels, the left-out ones (inactive, or sent and excluded)
      included: its probability is at least their whole mass, ``1 - sum(classifier)``, so none
      of them can be higher (conservative: when that mass is spread thin, confidence is withheld
      even if the key was the top-1);
    - the probability shown for it also reaches ``threshold`` (a blend that lowered it below
      is not shown as confident).

    A template the classifier has no output for (retrieved) is never confident: its
    probability was never fitted.
    """
    flags = [False] * len(shown)
    if not classifier:
        return flags
    key, p = classifier[0]
    hidden = 1.0 - sum(q for _, q in classifier)
    if p < threshold or p < hidden:
        return flags
    for i, (shown_key, shown_p) in enumerate(shown):
        if shown_key == key:
            flags[i] = shown_p >= threshold
    return flags


def reliability_diagram(
    logits: FloatArray, labels: IntArray, temperature: float, path: str | Path, n_bins: int = 15
) -> None:
    """Save a PNG with accuracy-vs-confidence bars before and after temperature scaling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True)
    for ax, t, name in (
        (axes[0], 1.0, "before"),
        (axes[1], temperature, f"after (T={temperature:.3f})"),
    ):
        probs = softmax(np.asarray(logits, dtype=np.float64) / t, axis=-1)
        conf = probs.max(axis=-1)
        correct = (probs.argmax(axis=-1) == labels).astype(np.float64)
        bins = reliability_bins(conf, correct, n_bins)
        centers = (np.arange(n_bins) + 0.5) / n_bins
        ax.bar(centers, [a for _, a, _ in bins], width=1 / n_bins, edgecolor="k", label="accuracy")
        ax.plot([0, 1], [0, 1], "r--", label="perfect")
        ece, _ = ece_mce(probs, labels, n_bins)
        ax.set_title(f"{name}: ECE {ece:.4f}")
        ax.set_xlabel("top-1 confidence")
        ax.legend(loc="upper left")
    axes[0].set_ylabel("accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
