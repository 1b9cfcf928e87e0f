"""The blend of the classifier with retrieval for new templates, on hand-made numbers."""

import math

import pytest

from ranker.retriever import blend_new_templates


def test_new_templates_share_what_the_classifier_is_unsure_about() -> None:
    ranked = [("refund", 0.6), ("card_lost", 0.3), ("fees", 0.1)]
    new = {"crypto": 0.5, "loans": 0.4}
    blended = dict(blend_new_templates(ranked, new, k=10, weight=0.5, scale=10.0))

    share = 0.5 * (1 - 0.6)
    for key, p in ranked:
        assert blended[key] == pytest.approx((1 - share) * p)
    to_crypto = math.exp(5.0) / (math.exp(5.0) + math.exp(4.0))
    assert blended["crypto"] == pytest.approx(share * to_crypto)
    assert blended["loans"] == pytest.approx(share * (1 - to_crypto))
    assert sum(blended.values()) == pytest.approx(1.0)


def test_a_confident_classifier_keeps_its_list_an_unsure_one_makes_room() -> None:
    new = {"crypto": 0.9}
    confident = [("refund", 0.95), ("fees", 0.05)]
    assert [k for k, _ in blend_new_templates(confident, new, k=2, weight=1.0)] == [
        "refund",
        "crypto",
    ]
    unsure = [("refund", 0.3), ("fees", 0.3), ("card_lost", 0.4)]
    assert blend_new_templates(unsure, new, k=1, weight=1.0)[0][0] == "crypto"
    assert blend_new_templates(unsure, new, k=1, weight=0.1)[0][0] == "card_lost"


def test_no_new_templates_leaves_the_classifier_alone() -> None:
    ranked = [("refund", 0.7), ("fees", 0.3)]
    assert blend_new_templates(ranked, {}, k=1) == [("refund", 0.7)]
