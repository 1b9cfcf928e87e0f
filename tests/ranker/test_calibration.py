"""Calibration maths on synthetic data with known answers (the metrics: test_metrics.py)."""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from ranker.calibration import (
    choose_threshold,
    confident_flags,
    fit_temperature,
    invert_softmax,
    with_withdrawn_templates,
)
from ranker.metrics import nll


def _sample_labels(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    cum = probs.cumsum(axis=1)
    u = rng.random((len(probs), 1))
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def test_fit_temperature_recovers_known_temperature() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.0, size=(20000, 10))
    labels = _sample_labels(rng, softmax(true_logits, axis=1))
    # An overconfident model: its logits are the true ones times 2.5, so T should come out 2.5.
    t = fit_temperature(true_logits * 2.5, labels)
    assert abs(t - 2.5) < 0.1
    assert nll(true_logits * 2.5, labels, t) < nll(true_logits * 2.5, labels, 1.0)


def test_invert_softmax_recovers_logits_up_to_a_constant() -> None:
    rng = np.random.default_rng(2)
    z = rng.normal(0, 3, size=(50, 7))
    z_hat = invert_softmax(softmax(z, axis=1))
    diff = z_hat - z
    assert np.allclose(diff, diff[:, :1], atol=1e-6)  # same constant along each row
    assert np.allclose(softmax(z_hat, axis=1), softmax(z, axis=1), atol=1e-9)


def test_invert_softmax_floors_zeros() -> None:
    z = invert_softmax(np.array([[1.0, 0.0, 0.0]]), eps=1e-6)
    assert np.isfinite(z).all()
    assert np.allclose(z, [[0.0, np.log(1e-6), np.log(1e-6)]])


def test_invert_softmax_does_not_flatten_unlike_resoftmax() -> None:
    p = np.array([[0.7, 0.2, 0.1]])
    assert np.allclose(softmax(invert_softmax(p), axis=1), p)
    resoftmax = softmax(p, axis=1)
    assert resoftmax.max() < 0.5  # re-softmax pulls 0.7 down towards uniform
    # Temperature scaling then works on the inverted logits as on real ones.
    assert softmax(invert_softmax(p) / 0.5, axis=1).max() > 0.7


def test_choose_threshold_reaches_target_precision() -> None:
    rng = np.random.default_rng(3)
    conf = rng.uniform(0, 1, 5000)
    correct = rng.random(5000) < conf  # calibrated: precision above t is about (1 + t) / 2
    t = choose_threshold(conf, correct, target=0.9)
    kept = conf >= t
    assert correct[kept].mean() >= 0.9
    assert 0.7 < t < 0.85


def test_threshold_chosen_with_free_text_turns_abstains_on_them() -> None:
    """A model as sure on turns no template fits as on template turns: a threshold fitted on
    template turns alone suggests confidently on the free-text ones; fitted on all, it rises
    until confident suggestions are precise again, counting free-text ones as wrong."""
    from ranker.train import calibrate

    rng = np.random.default_rng(4)
    n, labels = 4000, 5
    y = rng.integers(0, labels, n)
    logits = rng.normal(0, 1, (n, labels))
    logits[np.arange(n), y] += rng.uniform(0, 6, n)  # template turns: sure when right
    free = rng.random(n) < 0.3
    logits[free] = rng.normal(0, 1, (int(free.sum()), labels))
    logits[free, 0] += rng.uniform(0, 4, int(free.sum()))  # free text: sometimes sure, wrong
    y_dev = np.where(free, -1, y)

    metrics, temperature, threshold = calibrate(logits, y_dev, 0.9)
    _, _, threshold_templates_only = calibrate(logits[~free], y[~free], 0.9, withdrawn="off")
    assert threshold > threshold_templates_only
    assert metrics["dev_confident_precision"] >= 0.9
    assert metrics["dev_n_no_fit"] == int(free.sum())
    probs = softmax(logits / temperature, axis=1)
    confident_free = (probs[free].max(axis=1) >= threshold_templates_only).mean()
    assert metrics["dev_no_fit_abstained"] > 1 - confident_free
    # The temperature is fitted on the template turns only: the same either way.
    assert temperature == fit_temperature(logits[~free], y[~free])


def test_withdrawn_template_rows_are_the_softmax_without_that_label() -> None:
    rng = np.random.default_rng(6)
    logits = rng.normal(0, 2, (6, 4))
    y = np.array([0, 3, -1, 1, 2, 2])
    probs = softmax(logits, axis=1)
    out, labels = with_withdrawn_templates(probs, y)
    fit = np.nonzero(y >= 0)[0]
    assert np.array_equal(out[:6], probs) and np.array_equal(labels[:6], y)
    assert np.array_equal(labels[6:], np.full(len(fit), -1))
    masked = logits[fit].copy()
    masked[np.arange(len(fit)), y[fit]] = -np.inf  # the classifier without that label
    assert np.allclose(out[6:], softmax(masked, axis=1))
    # A one-label model has nothing left: the copy suggests nothing, confidently or not.
    lone, lone_y = with_withdrawn_templates(np.ones((2, 1)), np.array([0, 0]))
    assert np.array_equal(lone[2:], np.zeros((2, 1))) and list(lone_y) == [0, 0, -1, -1]


def _open_set(noise: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dev logits and labels of 20 known classes, and logits of queries from 5 unknown ones,
    for a nearest-centre classifier that knows only the 20."""
    rng = np.random.default_rng(5)
    d, known, unknown, n = 32, 20, 5, 3000
    centres = rng.normal(size=(known + unknown, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def sample(classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = rng.choice(classes, n)
        x = centres[c] + rng.normal(0, noise, (n, d))
        return x @ centres[:known].T * 8, c

    dev_logits, dev_y = sample(np.arange(known))
    unknown_logits, _ = sample(np.arange(known, known + unknown))
    return dev_logits, dev_y, unknown_logits


def test_threshold_without_free_text_turns_abstains_on_unknown_classes() -> None:
    """Dev with a template for every turn (Banking77): fitted on those alone, the threshold
    keeps nearly everything, queries of classes the model never saw included; with each turn
    also counted with its own template withdrawn, it abstains on most of them and its
    confident suggestions on known ones stay precise."""
    from ranker.train import calibrate

    dev_logits, dev_y, unknown_logits = _open_set(noise=0.3)
    metrics, temperature, threshold = calibrate(dev_logits, dev_y, 0.9)
    _, _, plain = calibrate(dev_logits, dev_y, 0.9, withdrawn="off")
    assert metrics["threshold_withdrawn_templates"] is True
    assert metrics["dev_n_no_fit"] == len(dev_y)  # one simulated turn per template turn
    assert metrics["dev_confident_precision"] >= 0.9
    unknown_conf = softmax(unknown_logits / temperature, axis=1).max(axis=1)
    assert (unknown_conf < plain).mean() < 0.3
    assert (unknown_conf < threshold).mean() > 0.8
    dev_probs = softmax(dev_logits / temperature, axis=1)
    confident = dev_probs.max(axis=1) >= threshold
    assert (dev_probs.argmax(axis=1) == dev_y)[confident].mean() >= 0.95
    # Real free-text turns are the evidence where dev has them: nothing is simulated then.
    with_free = np.concatenate([dev_y[:-10], np.full(10, -1)])
    free_metrics, _, _ = calibrate(dev_logits, with_free, 0.9)
    assert free_metrics["threshold_withdrawn_templates"] is False
    assert free_metrics["dev_n_no_fit"] == 10


def test_confident_flags_back_only_the_classifiers_top1() -> None:
    classifier = [("a", 0.80), ("b", 0.15), ("c", 0.04)]  # 0.01 on hidden templates
    assert confident_flags(classifier, classifier, 0.7) == [True, False, False]
    assert confident_flags(classifier, classifier, 0.9) == [False, False, False]
    # At a low threshold the second one reaches it too, but the fit was of the top-1 alone.
    assert confident_flags(classifier, classifier, 0.1) == [True, False, False]
    # A re-ranker that lifts "b" above the threshold does not make it confident; "a" keeps
    # its flag where it lands if its shown probability still reaches the threshold.
    reranked = [("b", 0.85), ("a", 0.10), ("c", 0.04)]
    assert confident_flags(reranked, classifier, 0.7) == [False, False, False]
    assert confident_flags(reranked, classifier, 0.05) == [False, True, False]
    # A blend that lowered "a" below the threshold: not shown as confident.
    blended = [("a", 0.65), ("new", 0.30), ("b", 0.04)]
    assert confident_flags(blended, classifier, 0.7) == [False, False, False]
    assert confident_flags(blended, classifier, 0.5) == [True, False, False]
    # Hidden templates (inactive, sent) hold 0.6: one of them may be the real top-1.
    hidden_heavy = [("a", 0.35), ("b", 0.05)]
    assert confident_flags(hidden_heavy, hidden_heavy, 0.3) == [False, False]
    assert confident_flags([], [], 0.5) == []
