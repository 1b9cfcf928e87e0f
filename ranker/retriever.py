"""New templates before the next retrain: zero-shot retrieval blended with the classifier.

A template added to the catalog after training has no output in the classifier. The retriever
scores every template by the cosine similarity of the *base* encoder's mean-pooled embeddings
(the base model was trained for exactly this kind of sentence similarity) of the conversation
context and of the template's title and body, and a new template gets the part of the
retriever's distribution over the *whole* catalog that falls on it, scaled by how unsure the
classifier is:

    p(new t)    = weight · (1 - c) · softmax(scale · cos(context, ·))(t)   over all templates
    p(known t)  = (1 - Σ p(new)) · p_classifier(t)
    c           = the classifier's calibrated top-1 probability

A new template rises only when the context is closer to it than to the known templates, and
the known ones keep the classifier's order among themselves. (Giving the retriever's share to
the new templates alone, the first version, put them on top of most unsure lists: on SGD,
ordinary top-5 fell from 44% to 20%.) `weight` comes from a sweep on SGD dev conversations
kept apart from those reported (bench/new_templates_bench.py). The next retraining gives new
templates their own outputs and the retriever steps aside.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import torch

from ranker.base_models import resolve_base_model
from ranker.encoding import collate, length_sorted_batches, tokenize
from ranker.model import (
    hidden_size,
    load_encoder,
    load_tokenizer,
    mean_pool,
)

# Cosine similarities live in [-1, 1]; the classifier's cosine head starts at the same scale.
DEFAULT_SCALE = 20.0
# The new templates' largest share of an unsure list (see the module docstring).
DEFAULT_WEIGHT = 2.0


class TemplateRetriever:
    """Embeds contexts and template texts with a base encoder; thread-safe, embeddings cached."""

    def __init__(
        self, base_model: str | None = None, max_tokens: int = 256, threads: int = 1
    ) -> None:
        path = resolve_base_model(base_model)
        self.encoder = load_encoder(path).eval()
        self.tokenizer = load_tokenizer(path)
        self.max_tokens = max_tokens
        self.threads = threads
        self._templates: dict[str, np.ndarray] = {}  # template text → unit embedding
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length mean-pooled embeddings, (n, hidden)."""
        ids = tokenize(self.tokenizer, texts, self.max_tokens)
        out = np.zeros((len(texts), hidden_size(self.encoder)), dtype=np.float32)
        with self._lock, torch.inference_mode():
            torch.set_num_threads(self.threads)
            for batch in length_sorted_batches(ids, batch_size):
                input_ids, mask = collate([ids[i] for i in batch], self.tokenizer.pad_token_id)
                hidden = self.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
                pooled = torch.nn.functional.normalize(mean_pool(hidden, mask), dim=-1)
                out[batch] = pooled.numpy()  # (batch, hidden)
        return out

    def template_embeddings(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._templates]
        if missing:
            for text, vector in zip(missing, self.embed(missing), strict=True):
                self._templates[text] = vector
        return np.stack([self._templates[t] for t in texts])

    def similarities(self, contexts: Sequence[str], templates: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each context to each template text, (contexts, templates)."""
        sims: np.ndarray = self.embed(contexts) @ self.template_embeddings(templates).T
        return sims


def template_text(title: str, body: str) -> str:
    """What the retriever embeds for a template: the same text training uses for a prototype."""
    return f"{title}. {body}"


def blend_new_templates(
    ranked: Sequence[tuple[str, float]],
    similarities: Mapping[str, float],
    new_keys: Collection[str],
    *,
    k: int,
    weight: float = DEFAULT_WEIGHT,
    scale: float = DEFAULT_SCALE,
) -> list[tuple[str, float]]:
    """The classifier's full calibrated ranking mixed with the `new_keys` templates, top `k`.

    `ranked` must hold all of the classifier's allowed templates, with its calibrated
    probabilities (the live path passes them not renormalised, `Ranker.rank(...,
    renormalise=False)`, so they sum to at most 1); `similarities` maps every allowed template,
    known and new, to its cosine similarity with the context. The result's probabilities sum
    to at most 1, and a known template's is never above the classifier's: the blend cannot make
    one confident (ranker.calibration.confident_flags; a new template never is).
    """
    new = [key for key in similarities if key in new_keys]
    if not new:
        return list(ranked[:k])
    confidence = max((p for _, p in ranked), default=0.0)
    keys = list(similarities)
    z = scale * np.array([similarities[key] for key in keys], dtype=np.float64)
    retrieved = dict(zip(keys, np.exp(z - z.max()) / np.exp(z - z.max()).sum(), strict=True))
    shares = {key: weight * (1.0 - confidence) * float(retrieved[key]) for key in new}
    total = sum(shares.values())
    if total > 1.0 - confidence:  # a large weight may not take more than the unsure part
        shares = {key: share * (1.0 - confidence) / total for key, share in shares.items()}
    keep = 1.0 - sum(shares.values())
    mixed = [(key, keep * p) for key, p in ranked] + list(shares.items())
    mixed.sort(key=lambda item: -item[1])
    return mixed[:k]
