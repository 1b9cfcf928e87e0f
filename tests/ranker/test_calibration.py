"""Calibration maths on synthetic data with known answers (the metrics: test_metrics.py)."""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from ranker.calibration import choose_threshold, fit_temperature, invert_softmax
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
