"""The blend of the classifier with retrieval, on hand-made numbers."""

import math

import pytest

from ranker.retriever import blend_new_templates


def softmax(values: dict[str, float], scale: float) -> dict[str, float]:
    total = sum(math.exp(scale * v) for v in values.values())
    return {k: math.exp(scale * v) / total for k, v in values.items()}


def test_the_retrievers_share_goes_to_the_best_match_known_or_new() -> None:
    ranked = [("refund", 0.6), ("card_lost", 0.3), ("fees", 0.1)]
    similarities = {"refund": 0.2, "card_lost": 0.9, "fees": 0.1, "crypto": 0.3}
    blended = dict(blend_new_templates(ranked, similarities, k=10, scale=10.0))

    retrieved = softmax(similarities, 10.0)
    for key, p in ranked:
        assert blended[key] == pytest.approx(0.6 * p + 0.4 * retrieved[key])
    assert blended["crypto"] == pytest.approx(0.4 * retrieved["crypto"])
    assert sum(blended.values()) == pytest.approx(1.0)
    # The new template fits worse than card_lost, so it does not jump the list.
    order = [key for key, _ in blend_new_templates(ranked, similarities, k=2, scale=10.0)]
    assert order == ["card_lost", "refund"]


def test_a_new_template_that_fits_best_rises_when_the_classifier_is_unsure() -> None:
    ranked = [("refund", 0.3), ("card_lost", 0.3), ("fees", 0.4)]
    similarities = {"refund": 0.1, "card_lost": 0.1, "fees": 0.1, "crypto": 0.8}
    assert blend_new_templates(ranked, similarities, k=1, scale=20.0)[0][0] == "crypto"


def test_no_similarities_leaves_the_classifier_alone() -> None:
    ranked = [("refund", 0.7), ("fees", 0.3)]
    assert blend_new_templates(ranked, {}, k=1) == [("refund", 0.7)]
