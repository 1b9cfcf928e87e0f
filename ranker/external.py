"""A probability-only second opinion: an OpenAI-compatible chat model re-ranks the top-M.

After Wang et al. (2024, the calibration paper): a source that gives only probabilities is
calibrated by inverting its softmax (``z = log max(p, eps) + c``) and fitting a temperature on
those logits, never by re-applying softmax to the probabilities (that flattens them). The
calibrated external log-probabilities are then blended with the classifier's over the same
candidates.

Everything the endpoint returns is parsed strictly; any defect (malformed JSON, missing or
unknown labels, values outside [0, 1], a sum other than 1, a timeout, an HTTP error) raises
`ExternalError` with a short `reason`, and the caller keeps the classifier's ranking. Off unless
a URL is configured; nothing here runs at import time.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import requests

from ranker.calibration import fit_temperature, invert_softmax

logger = logging.getLogger(__name__)

EPS = 1e-6  # floor for zero probabilities before the log: a zero is "very unlikely", not -inf
SUM_TOLERANCE = 0.02  # models print rounded numbers; more than 2% off is not a distribution

SYSTEM_PROMPT = (
    "You help a customer-support agent choose a response template. Given the conversation and "
    "the candidate templates, reply with only a JSON object of the form "
    '{"probabilities": {"<template key>": <probability>, ...}} giving, for every candidate key '
    "and no other, the probability that it is the right reply now. The probabilities must sum to 1."
)


class ExternalError(RuntimeError):
    """The external source gave no usable distribution; `reason` is a short machine code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class Candidate:
    key: str
    title: str
    body: str


@dataclass(frozen=True)
class ExternalConfig:
    url: str  # base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1
    model: str
    api_key: str = ""
    timeout_s: float = 2.0
    top_m: int = 10  # how many of the classifier's best candidates the endpoint re-ranks
    weight: float = 0.5  # share of the external log-probabilities in the blend (0: ignore it)
    temperature: float = 1.0  # fitted on dev with `fit_external_temperature`


def parse_distribution(text: str, keys: Sequence[str]) -> dict[str, float]:
    """The endpoint's reply → {key: probability} over exactly `keys`, or `ExternalError`."""
    try:
        payload = json.loads(text)
    except (json.JSONDecodeError, TypeError) as error:
        raise ExternalError("malformed_json", str(error)) from None
    probabilities = payload.get("probabilities") if isinstance(payload, dict) else None
    if not isinstance(probabilities, dict):
        raise ExternalError("malformed_json", 'no "probabilities" object')
    missing = [key for key in keys if key not in probabilities]
    if missing:
        raise ExternalError("missing_labels", ", ".join(missing[:5]))
    unknown = [key for key in probabilities if key not in set(keys)]
    if unknown:
        raise ExternalError("unknown_labels", ", ".join(str(key) for key in unknown[:5]))
    values: dict[str, float] = {}
    for key in keys:
        value = probabilities[key]
        # bool is an int in Python; `true` is not a probability.
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ExternalError("bad_value", f"{key}: {value!r}")
        if not 0.0 <= value <= 1.0:
            raise ExternalError("bad_value", f"{key}: {value} is outside [0, 1]")
        values[key] = float(value)
    total = sum(values.values())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ExternalError("bad_sum", f"probabilities sum to {total:.4f}")
    return {key: value / total for key, value in values.items()}


def _prompt(context: str, candidates: Sequence[Candidate]) -> str:
    lines = [f"- {c.key}: {c.title} — {c.body}" for c in candidates]
    return "Conversation:\n" + context + "\n\nCandidate templates:\n" + "\n".join(lines)


def external_distribution(
    config: ExternalConfig, context: str, candidates: Sequence[Candidate]
) -> dict[str, float]:
    """Ask the chat endpoint for a distribution over `candidates`; strict, or `ExternalError`."""
    headers = {"Content-Type": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    body: dict[str, Any] = {
        "model": config.model,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": _prompt(context, candidates)},
        ],
    }
    try:
        response = requests.post(
            config.url.rstrip("/") + "/chat/completions",
            json=body,
            headers=headers,
            timeout=config.timeout_s,
        )
    except requests.Timeout:
        raise ExternalError("timeout", f"no answer within {config.timeout_s} s") from None
    except requests.RequestException as error:
        raise ExternalError("unreachable", type(error).__name__) from None
    if response.status_code != 200:
        raise ExternalError("http_error", f"status {response.status_code}")
    try:
        text = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ExternalError("malformed_json", "not a chat completion") from None
    return parse_distribution(text, [c.key for c in candidates])


def external_logits(distribution: dict[str, float], keys: Sequence[str]) -> np.ndarray:
    """Inverted softmax of the distribution, in `keys` order (row max 0)."""
    return invert_softmax(np.array([distribution[key] for key in keys]), eps=EPS)


def blend(
    ranked: Sequence[tuple[str, float]],
    distribution: dict[str, float],
    *,
    weight: float,
    temperature: float,
) -> list[tuple[str, float]]:
    """Re-rank the classifier's top-M with the external source; best first.

    The two calibrated log-probabilities are mixed linearly (a product of experts) and
    renormalised to the probability mass the classifier gave these M candidates. A candidate
    lifted above the model's confidence threshold is still not marked confident unless the
    classifier's own probability reaches it (ranker.calibration.confident_flags).
    """
    keys = [key for key, _ in ranked]
    classifier = np.log(np.maximum([p for _, p in ranked], EPS))
    external = external_logits(distribution, keys) / temperature
    external -= np.log(np.exp(external).sum())  # log-softmax of the calibrated logits
    mixed = (1.0 - weight) * classifier + weight * external
    mixed = np.exp(mixed - mixed.max())
    mass = sum(p for _, p in ranked)
    probabilities = mixed / mixed.sum() * mass
    order = np.argsort(-probabilities, kind="stable")
    return [(keys[i], float(probabilities[i])) for i in order]


def rerank(
    config: ExternalConfig,
    context: str,
    ranked: Sequence[tuple[str, float]],
    catalog: dict[str, Candidate],
) -> list[tuple[str, float]]:
    """The classifier's ranking re-ranked by the external source; unchanged if it fails."""
    top = [(key, p) for key, p in ranked[: config.top_m] if key in catalog]
    if len(top) < 2 or config.weight <= 0:
        return list(ranked)
    try:
        distribution = external_distribution(config, context, [catalog[key] for key, _ in top])
    except ExternalError as error:
        # The reason only: the context holds customer text, which stays out of the logs.
        logger.warning("external re-ranker ignored: %s", error.reason)
        return list(ranked)
    blended = blend(top, distribution, weight=config.weight, temperature=config.temperature)
    return blended + list(ranked[len(top) :])


def fit_external_temperature(
    distributions: Sequence[dict[str, float]],
    candidates: Sequence[Sequence[str]],
    labels: Sequence[str],
) -> float:
    """One temperature for the external source, by NLL on dev over its inverted logits.

    Each dev example is (the distribution it returned, the candidate keys in order, the true
    key); examples whose true key was not among the candidates say nothing and are skipped.
    Candidate lists may differ in length, so each example is padded with -inf-like logits.
    """
    rows = [
        (external_logits(d, keys), keys.index(label))
        for d, keys, label in zip(distributions, candidates, labels, strict=True)
        if label in keys
    ]
    if not rows:
        return 1.0
    width = max(len(z) for z, _ in rows)
    # Padding far below the eps floor, so padded columns carry no probability at any T we search.
    logits = np.full((len(rows), width), math.log(EPS) * 50)
    for i, (z, _) in enumerate(rows):
        logits[i, : len(z)] = z
    return fit_temperature(logits, np.array([label for _, label in rows], dtype=np.int64))
