"""Templates newer than the serving model, suggested by retrieval until a retrain covers them.

See ranker/retriever.py for the method. The retriever (the base encoder, about 90 MB) is loaded
only in a process that meets a template the model does not know, once.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.conf import settings

from assist.serving.state import STATE
from templates_app.models import ResponseTemplate

if TYPE_CHECKING:
    from ranker import Ranker
    from ranker.retriever import TemplateRetriever


def _retriever(ranker: "Ranker") -> "TemplateRetriever":
    from ranker.retriever import TemplateRetriever

    # The base model the ranker was trained from: the encoder whose similarities it was
    # initialised with (ranker.json records it).
    base = ranker.meta.base_model
    with STATE.lock:
        if base not in STATE.retrievers:
            STATE.retrievers[base] = TemplateRetriever(
                base, max_tokens=ranker.meta.max_tokens, threads=ranker.threads
            )
        return STATE.retrievers[base]


def rank_with_new_templates(
    ranker: "Ranker",
    context: str,
    ranked_all: list[tuple[str, float]],
    new_keys: list[str],
    *,
    templates: Mapping[str, ResponseTemplate],
    k: int,
) -> list[tuple[str, float]]:
    """The classifier's full ranking blended with the templates it does not know; top `k`.

    `templates`: the active catalog by key (every candidate is in it). The retriever compares
    the context with every candidate (embeddings of template texts are cached, so after the
    first call only the context is embedded).
    """
    from ranker.retriever import blend_new_templates, template_text

    candidates = [templates[key] for key, _ in ranked_all] + [templates[key] for key in new_keys]
    texts = [template_text(t.title, t.body) for t in candidates]
    similarities = _retriever(ranker).similarities([context], texts)[0]
    return blend_new_templates(
        ranked_all,
        {t.key: float(s) for t, s in zip(candidates, similarities, strict=True)},
        set(new_keys),
        k=k,
        weight=settings.NEW_TEMPLATE_WEIGHT,
    )
