"""New templates before the next retrain: zero-shot retrieval blended with the classifier.

A template added to the catalog after training has no output in the classifier. The retriever
scores it by the cosine similarity of the *base* encoder's mean-pooled embeddings (the base model
was trained for exactly this kind of sentence similarity) of the conversation context and of
the template's title and body. The new templates share a slice of the probability that grows
as the classifier's calibrated confidence falls:

    w           = weight · (1 - c),  c = the classifier's calibrated top-1 probability
    p(known t)  = (1 - w) · p_classifier(t)
    p(new t)    = w · softmax(scale · cos(context, t))  over the new templates

`weight` trades the new templates' recall against the known ones' ranking; with weight 1 an
unsure classifier (SGD's frozen-head model is right about one time in five) let new templates
push known ones off most lists. The default comes from a sweep on SGD dev conversations
(bench/new_templates_bench.py) kept apart from those it reports on. The next retraining gives
new templates their own outputs and the retriever steps aside.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from ranker.encoding import collate, length_sorted_batches, tokenize
from ranker.model import default_base_model, load_encoder, load_tokenizer, mean_pool

# Cosine similarities live in [-1, 1]; the classifier's cosine head starts at the same scale.
DEFAULT_SCALE = 20.0
# The new templates' largest share of an unsure list (see the module docstring).
DEFAULT_WEIGHT = 0.5


class TemplateRetriever:
    """Embeds contexts and template texts with a base encoder; thread-safe, embeddings cached."""

    def __init__(
        self, base_model: str | None = None, max_tokens: int = 256, threads: int = 1
    ) -> None:
        path = base_model or default_base_model()
        self.encoder = load_encoder(path).eval()
        self.tokenizer = load_tokenizer(path)
        self.max_tokens = max_tokens
        self.threads = threads
        self._templates: dict[str, np.ndarray] = {}  # template text → unit embedding
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length mean-pooled embeddings, (n, hidden)."""
        ids = tokenize(self.tokenizer, texts, self.max_tokens)
        out = np.zeros((len(texts), self.encoder.config.hidden_size), dtype=np.float32)
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
        return self.embed(contexts) @ self.template_embeddings(templates).T  # type: ignore[no-any-return]


def template_text(title: str, body: str) -> str:
    """What the retriever embeds for a template: the same text training uses for a prototype."""
    return f"{title}. {body}"


def blend_new_templates(
    ranked: Sequence[tuple[str, float]],
    new_similarities: Mapping[str, float],
    *,
    k: int,
    weight: float = DEFAULT_WEIGHT,
    scale: float = DEFAULT_SCALE,
) -> list[tuple[str, float]]:
    """The classifier's full calibrated ranking mixed with new templates, top `k`.

    `ranked` must hold all of the classifier's allowed templates (probabilities summing to 1);
    `new_similarities` maps each new template to its cosine similarity with the context. The
    result's probabilities, over all templates, still sum to 1.
    """
    if not new_similarities:
        return list(ranked[:k])
    confidence = max((p for _, p in ranked), default=0.0)
    share = weight * (1.0 - confidence)
    keys = list(new_similarities)
    z = scale * np.array([new_similarities[key] for key in keys], dtype=np.float64)
    retrieved = np.exp(z - z.max())
    retrieved /= retrieved.sum()
    mixed = [(key, (1.0 - share) * p) for key, p in ranked] + [
        (key, share * float(p)) for key, p in zip(keys, retrieved, strict=True)
    ]
    mixed.sort(key=lambda item: -item[1])
    return mixed[:k]
