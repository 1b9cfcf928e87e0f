"""The metrics module on small arrays with known answers, and that it is the only one."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from scipy.special import softmax

from ranker.metrics import (
    abstain_rate,
    brier,
    ece_mce,
    nll,
    nll_of_probs,
    open_set_metrics,
    probability_metrics,
    ranked_topk_accuracy,
    selective_metrics,
    topk_accuracy,
)

ROOT = Path(__file__).resolve().parents[2]


def test_topk_accuracy_counts_the_label_among_the_k_highest_scores() -> None:
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    y = np.array([2, 0, 0])
    assert topk_accuracy(scores, y, 1) == pytest.approx(1 / 3)
    assert topk_accuracy(scores, y, 2) == pytest.approx(2 / 3)
    assert topk_accuracy(scores, y, 3) == 1.0
    assert topk_accuracy(scores, y, 5) == 1.0  # k beyond the labels: every label is in
    assert topk_accuracy(np.log(scores), y, 2) == topk_accuracy(scores, y, 2)  # logits alike
    assert topk_accuracy(np.zeros((0, 3)), np.zeros(0, dtype=np.int64), 1) == 0.0


def test_topk_accuracy_breaks_ties_as_rank_shows_them() -> None:
    tied = np.array([[0.5, 0.5, 0.0]])
    assert topk_accuracy(tied, np.array([0]), 1) == 1.0  # the lower column comes first
    assert topk_accuracy(tied, np.array([1]), 1) == 0.0


def test_ranked_topk_accuracy_of_key_lists() -> None:
    rankings = [["a", "b", "c"], ["b", "a"], []]
    assert ranked_topk_accuracy(rankings, ["a", "a", "a"], 1) == pytest.approx(1 / 3)
    assert ranked_topk_accuracy(rankings, ["a", "a", "a"], 2) == pytest.approx(2 / 3)
    assert ranked_topk_accuracy([], [], 5) == 0.0


def test_nll_of_logits_and_of_their_probabilities_agree() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(200, 7))
    y = rng.integers(0, 7, 200)
    assert nll(logits, y) == pytest.approx(nll_of_probs(softmax(logits, axis=1), y), rel=1e-9)
    assert nll(logits, y, temperature=2.0) == pytest.approx(nll(logits / 2.0, y))
    # A zero probability of the true label is floored, not infinite.
    assert nll_of_probs(np.array([[1.0, 0.0]]), np.array([1])) == pytest.approx(-np.log(1e-12))


def test_ece_of_calibrated_set_is_near_zero_and_of_overconfident_set_is_not() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.5, 1.0, size=50000)
    probs = np.stack([p, 1 - p], axis=1)
    labels = np.where(rng.random(50000) < p, 0, 1)
    ece, mce = ece_mce(probs, labels)
    assert ece < 0.01
    assert mce < 0.05
    sharp = np.stack([np.full_like(p, 0.99), np.full_like(p, 0.01)], axis=1)
    ece_sharp, _ = ece_mce(sharp, labels)
    assert ece_sharp > 0.15


def test_brier_of_perfect_and_uniform_predictions() -> None:
    labels = np.array([0, 1, 2])
    assert brier(np.eye(3), labels) == 0.0
    assert abs(brier(np.full((3, 3), 1 / 3), labels) - 2 / 3) < 1e-9


def test_probability_metrics_report_every_figure() -> None:
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    y = np.array([0, 1, 1, 2])
    m = probability_metrics(probs, y)
    assert set(m) == {"top1", "top3", "top5", "nll", "ece", "mce", "brier"}
    assert m["top1"] == 0.75
    assert m["top3"] == m["top5"] == 1.0
    assert m["nll"] == pytest.approx(-np.log([0.9, 0.7, 0.3, 0.8]).mean())
    assert (m["ece"], m["mce"]) == ece_mce(probs, y)
    assert m["brier"] == brier(probs, y)


def test_selective_metrics_and_abstain_rate_at_a_threshold() -> None:
    probs = np.array([[0.95, 0.05], [0.92, 0.08], [0.6, 0.4], [0.3, 0.7]])
    y = np.array([0, 1, 0, 1])
    m = selective_metrics(probs, y, threshold=0.9)
    assert m == {"coverage_at_threshold": 0.5, "precision_at_threshold": 0.5}
    assert selective_metrics(probs, y, threshold=0.99)["precision_at_threshold"] == 0.0
    assert abstain_rate(probs, 0.9) == 0.5
    assert abstain_rate(probs, 0.5) == 0.0


def _defined_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def test_no_second_implementation_of_the_metrics() -> None:
    """Training, evaluation, the scaling study and the baselines call ranker.metrics; none of
    them (nor any other module of ranker or bench) defines its own."""
    metric_names = _defined_functions(ROOT / "ranker" / "metrics.py") | {"topk_metrics", "ece"}
    for path in [*(ROOT / "ranker").rglob("*.py"), *(ROOT / "bench").glob("*.py")]:
        if path.name == "metrics.py" and path.parent.name == "ranker":
            continue
        clash = _defined_functions(path) & metric_names
        assert not clash, f"{path.relative_to(ROOT)} defines {sorted(clash)}"


def test_open_set_metrics_count_a_confident_free_text_turn_as_wrong() -> None:
    probs = np.array([[0.95, 0.05], [0.92, 0.08], [0.6, 0.4], [0.97, 0.03], [0.5, 0.5]])
    y = np.array([0, 0, 0, -1, -1])  # three template turns, two free-text ones
    m = open_set_metrics(probs, y, threshold=0.9)
    # Confident: rows 0, 1 (right) and 3 (free text): 2 right of 3.
    assert m["confident_precision"] == pytest.approx(2 / 3)
    assert m["coverage"] == pytest.approx(2 / 3)
    assert m["confident_correct"] == pytest.approx(2 / 3)
    assert m["no_fit_abstained"] == 0.5
    assert (m["n_fit"], m["n_no_fit"]) == (3, 2)
    # Template turns alone would say 100% precise: the free-text turn is what lowers it.
    assert selective_metrics(probs[:3], y[:3], 0.9)["precision_at_threshold"] == 1.0
    assert open_set_metrics(probs[:3], y[:3], 0.9)["no_fit_abstained"] is None
