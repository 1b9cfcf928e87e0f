"""The optional external re-ranker (ranker/external.py) as the service uses it: off by default.

Only scrubbed text leaves for the endpoint: it is outside the system, so personal data is
replaced as for training (assist/lifecycle/pii.py), the conversation's known names included.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings

from assist.lifecycle.pii import pii_scrub
from templates_app.models import ResponseTemplate

if TYPE_CHECKING:  # imported when used, so that web processes never load numpy and scipy
    from ranker.external import Candidate, ExternalConfig


def external_config() -> "ExternalConfig | None":
    if not settings.EXTERNAL_RERANK_URL:
        return None
    from ranker.external import ExternalConfig

    return ExternalConfig(
        url=settings.EXTERNAL_RERANK_URL,
        model=settings.EXTERNAL_RERANK_MODEL,
        api_key=settings.EXTERNAL_RERANK_KEY,
        timeout_s=settings.EXTERNAL_RERANK_TIMEOUT_S,
        top_m=settings.EXTERNAL_RERANK_TOP_M,
        weight=settings.EXTERNAL_RERANK_WEIGHT,
        temperature=settings.EXTERNAL_RERANK_TEMPERATURE,
    )


def candidates_for(keys: list[str]) -> "dict[str, Candidate]":
    """Catalog text of `keys`, as the endpoint is shown it (bodies unrendered: no customer data)."""
    from ranker.external import Candidate

    return {
        key: Candidate(key=key, title=title, body=body)
        for key, title, body in ResponseTemplate.objects.filter(key__in=keys).values_list(
            "key", "title", "body"
        )
    }


def external_rerank(
    config: "ExternalConfig",
    context: str,
    ranked: list[tuple[str, float]],
    *,
    known_names: Iterable[str] = (),
) -> list[tuple[str, float]]:
    """`ranked` re-ranked by the endpoint, or unchanged if it fails (the reason is logged).
    `known_names`: the conversation's (`conversation_names`), scrubbed from the context."""
    from ranker.external import rerank

    top = [key for key, _ in ranked[: config.top_m]]
    return rerank(config, pii_scrub(context, known_names=known_names), ranked, candidates_for(top))
