"""Baselines that the benchmarks measure next to the ranker: TF-IDF + logistic regression, and
logistic regression on frozen mean-pooled encoder embeddings.

Both see exactly the contexts the ranker sees and return probabilities ``(n, labels)``, which
:func:`ranker.metrics.probability_metrics` scores as it scores the ranker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _full_probs(clf: Any, x: Any, n_labels: int) -> np.ndarray:
    """Probabilities over all labels (classes absent from training get zero)."""
    p = clf.predict_proba(x)
    full = np.zeros((p.shape[0], n_labels))
    full[:, clf.classes_] = p
    return full


def tfidf_lr(
    train_texts: Sequence[str],
    train_y: np.ndarray,
    test_texts: Sequence[str],
    n_labels: int,
    c: float = 10.0,
) -> np.ndarray:
    """TF-IDF (word 1-2 grams + character 2-5 grams, sublinear tf) + multinomial logistic
    regression: test probabilities ``(n, labels)``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_union

    vec = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )
    x_train = vec.fit_transform(train_texts)
    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit(x_train, train_y)
    return _full_probs(clf, vec.transform(test_texts), n_labels)


def frozen_embeddings(
    texts: Sequence[str], base_model: str, max_tokens: int = 256, batch_size: int = 64
) -> np.ndarray:
    """L2-normalised mean-pooled embeddings ``(n, hidden)`` of a frozen encoder."""
    import torch
    from torch import nn
    from tqdm.auto import tqdm

    from ranker.encoding import collate, length_sorted_batches, tokenize
    from ranker.model import hidden_size, load_encoder, load_tokenizer, mean_pool

    tokenizer = load_tokenizer(base_model)
    encoder = load_encoder(base_model).eval()
    ids = tokenize(tokenizer, texts, max_tokens)
    out = np.zeros((len(ids), hidden_size(encoder)), dtype=np.float32)  # (n, hidden)
    with torch.inference_mode():
        for batch in tqdm(list(length_sorted_batches(ids, batch_size)), desc="embed", leave=False):
            input_ids, mask = collate([ids[i] for i in batch])
            hidden = encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
            out[batch] = nn.functional.normalize(mean_pool(hidden, mask), dim=-1).numpy()
    return out


def embedding_lr(
    train_emb: np.ndarray, train_y: np.ndarray, test_emb: np.ndarray, n_labels: int, c: float = 10.0
) -> np.ndarray:
    """Logistic regression on frozen embeddings: test probs."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=3000)
    clf.fit(train_emb, train_y)
    return _full_probs(clf, test_emb, n_labels)


__all__ = ["embedding_lr", "frozen_embeddings", "tfidf_lr"]
