"""The probability-only re-ranker against a local stub of an OpenAI-compatible endpoint."""

import json
import logging

import numpy as np
import pytest
from scipy.special import softmax

from ranker.external import (
    Candidate,
    ExternalConfig,
    ExternalError,
    blend,
    external_distribution,
    fit_external_temperature,
    parse_distribution,
    rerank,
)
from tests.stub_chat import StubEndpoint

CATALOG = {
    key: Candidate(key=key, title=key.replace("_", " "), body=f"Body of {key}.")
    for key in ("card_lost", "card_arrival", "refund", "greeting")
}
RANKED = [("card_arrival", 0.5), ("card_lost", 0.3), ("refund", 0.15), ("greeting", 0.05)]


def config(stub: StubEndpoint, **overrides: object) -> ExternalConfig:
    return ExternalConfig(url=stub.url, model="stub-model", api_key="sk-test", **overrides)  # type: ignore[arg-type]


def test_a_valid_distribution_comes_back_in_candidate_order(stub: StubEndpoint) -> None:
    stub.reply({"probabilities": {"card_lost": 0.7, "card_arrival": 0.2, "refund": 0.1}})
    candidates = [CATALOG[k] for k in ("card_arrival", "card_lost", "refund")]
    got = external_distribution(config(stub), "customer: my card is gone", candidates)
    assert got == pytest.approx({"card_lost": 0.7, "card_arrival": 0.2, "refund": 0.1})
    sent = stub.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["auth"] == "Bearer sk-test"
    assert sent["body"]["model"] == "stub-model"
    assert "card_arrival" in sent["body"]["messages"][1]["content"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("this is not json", "malformed_json"),
        ({"answer": "card_lost"}, "malformed_json"),
        ({"probabilities": {"card_lost": 0.6, "card_arrival": 0.4}}, "missing_labels"),
        (
            {"probabilities": {"card_lost": 0.5, "card_arrival": 0.2, "refund": 0.1, "fees": 0.2}},
            "unknown_labels",
        ),
        ({"probabilities": {"card_lost": 0.9, "card_arrival": 0.9, "refund": 0.1}}, "bad_sum"),
        ({"probabilities": {"card_lost": 0, "card_arrival": 0, "refund": 0}}, "bad_sum"),
        ({"probabilities": {"card_lost": "0.5", "card_arrival": 0.4, "refund": 0.1}}, "bad_value"),
        ({"probabilities": {"card_lost": 1.5, "card_arrival": -0.4, "refund": -0.1}}, "bad_value"),
        ({"probabilities": {"card_lost": True, "card_arrival": 0, "refund": 0}}, "bad_value"),
    ],
)
def test_each_malformed_reply_is_refused_with_its_reason(
    stub: StubEndpoint, content: object, reason: str
) -> None:
    stub.reply(content)
    candidates = [CATALOG[k] for k in ("card_arrival", "card_lost", "refund")]
    with pytest.raises(ExternalError) as caught:
        external_distribution(config(stub), "customer: hi", candidates)
    assert caught.value.reason == reason


def test_a_slow_endpoint_times_out_and_an_error_status_is_refused(stub: StubEndpoint) -> None:
    candidates = [CATALOG[k] for k in ("card_arrival", "card_lost")]
    stub.reply({"probabilities": {"card_lost": 0.5, "card_arrival": 0.5}}, delay=1.0)
    with pytest.raises(ExternalError) as caught:
        external_distribution(config(stub, timeout_s=0.2), "customer: hi", candidates)
    assert caught.value.reason == "timeout"
    stub.reply("", status=500)
    with pytest.raises(ExternalError) as caught:
        external_distribution(config(stub), "customer: hi", candidates)
    assert caught.value.reason == "http_error"


def test_zeros_are_floored_not_fatal() -> None:
    got = parse_distribution(json.dumps({"probabilities": {"a": 1.0, "b": 0.0}}), ["a", "b"])
    ranked = blend([("a", 0.4), ("b", 0.4)], got, weight=0.5, temperature=1.0)
    assert ranked[0][0] == "a"
    assert all(np.isfinite(p) and p > 0 for _, p in ranked)


def test_rerank_follows_a_confident_external_source_and_keeps_the_mass(stub: StubEndpoint) -> None:
    stub.reply({"probabilities": {"card_arrival": 0.05, "card_lost": 0.9, "refund": 0.05}})
    ranked = rerank(config(stub, top_m=3, weight=0.7), "customer: I lost my card", RANKED, CATALOG)
    assert [key for key, _ in ranked] == ["card_lost", "card_arrival", "refund", "greeting"]
    # The blend redistributes the classifier's mass on the top-M; the tail is untouched.
    assert sum(p for _, p in ranked[:3]) == pytest.approx(0.95)
    assert ranked[3] == ("greeting", 0.05)


def test_rerank_keeps_the_classifier_ranking_when_the_source_fails(
    stub: StubEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    stub.reply("{broken")
    with caplog.at_level(logging.WARNING, logger="ranker.external"):
        ranked = rerank(config(stub, top_m=3), "customer: my secret text", RANKED, CATALOG)
    assert ranked == RANKED
    assert "malformed_json" in caplog.text
    assert "secret" not in caplog.text  # conversation text never reaches the logs


def test_the_fitted_temperature_undoes_an_overconfident_source() -> None:
    """A source that is right 70% of the time but says 0.97 should be cooled (T > 1)."""
    rng = np.random.default_rng(3)
    keys = ["a", "b", "c", "d"]
    distributions, labels = [], []
    for _ in range(400):
        truth = rng.choice(keys)
        said = truth if rng.random() < 0.7 else rng.choice([k for k in keys if k != truth])
        distributions.append({k: (0.97 if k == said else 0.01) for k in keys})
        labels.append(truth)
    temperature = fit_external_temperature(distributions, [keys] * 400, labels)
    assert temperature > 1.5
    z = np.log(np.array([0.97, 0.01, 0.01, 0.01]))
    assert softmax(z / temperature).max() == pytest.approx(0.7, abs=0.05)
