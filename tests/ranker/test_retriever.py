"""The blend of the classifier with retrieval for new templates, on hand-made numbers."""

import math

import pytest

from ranker.retriever import blend_new_templates


def softmax(values: dict[str, float], scale: float) -> dict[str, float]:
    total = sum(math.exp(scale * v) for v in values.values())
    return {k: math.exp(scale * v) / total for k, v in values.items()}


def test_a_new_template_gets_its_part_of_the_retrievers_share() -> None:
    ranked = [("refund", 0.6), ("card_lost", 0.3), ("fees", 0.1)]
    similarities = {"refund": 0.2, "card_lost": 0.9, "fees": 0.1, "crypto": 0.5, "loans": 0.3}
    blended = dict(
        blend_new_templates(ranked, similarities, {"crypto", "loans"}, k=10, weight=1.0, scale=10)
    )

    retrieved = softmax(similarities, 10.0)
    shares = {key: (1 - 0.6) * retrieved[key] for key in ("crypto", "loans")}
    for key, share in shares.items():
        assert blended[key] == pytest.approx(share)
    for key, p in ranked:  # the known templates keep their order, scaled together
        assert blended[key] == pytest.approx((1 - sum(shares.values())) * p)
    assert sum(blended.values()) == pytest.approx(1.0)


def test_a_new_template_rises_only_where_it_fits_better_than_the_known_ones() -> None:
    unsure = [("refund", 0.3), ("fees", 0.3), ("card_lost", 0.4)]
    fits = {"refund": 0.1, "fees": 0.1, "card_lost": 0.1, "crypto": 0.9}
    assert blend_new_templates(unsure, fits, {"crypto"}, k=1)[0][0] == "crypto"
    # The same unsure classifier, but the context is closer to a known template.
    misses = {"refund": 0.9, "fees": 0.1, "card_lost": 0.1, "crypto": 0.2}
    assert blend_new_templates(unsure, misses, {"crypto"}, k=1)[0][0] == "card_lost"
    # A confident classifier keeps its first place even for a good fit.
    confident = [("refund", 0.95), ("fees", 0.05)]
    near = {"refund": 0.5, "fees": 0.1, "crypto": 0.9}
    assert blend_new_templates(confident, near, {"crypto"}, k=1)[0][0] == "refund"


def test_no_new_templates_leaves_the_classifier_alone() -> None:
    ranked = [("refund", 0.7), ("fees", 0.3)]
    assert blend_new_templates(ranked, {"refund": 0.3, "fees": 0.1}, set(), k=1) == [
        ("refund", 0.7)
    ]
