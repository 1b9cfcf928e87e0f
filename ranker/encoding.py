"""Tokenising contexts once and batching them with padding to the longest real length."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch


def tokenize(tokenizer: Any, texts: Sequence[str], max_tokens: int) -> list[list[int]]:
    """Token ids of each text with special tokens, truncated from the left to ``max_tokens``."""
    if not texts:
        return []
    out = tokenizer(list(texts), truncation=True, max_length=max_tokens, padding=False)
    return [list(x) for x in out["input_ids"]]


def pad_batch(ids: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pad to the longest sequence of this batch (not to ``max_tokens``): int64 (ids, mask)."""
    n = max(len(x) for x in ids)
    input_ids = np.full((len(ids), n), pad_id, dtype=np.int64)  # (batch, seq)
    mask = np.zeros((len(ids), n), dtype=np.int64)  # (batch, seq)
    for i, x in enumerate(ids):
        input_ids[i, : len(x)] = x
        mask[i, : len(x)] = 1
    return input_ids, mask


def collate(ids: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`pad_batch` as torch tensors: (input_ids, mask), each (batch, seq)."""
    input_ids, mask = pad_batch(ids, pad_id)
    return torch.from_numpy(input_ids), torch.from_numpy(mask)


def length_sorted_batches(ids: Sequence[Sequence[int]], batch_size: int) -> Iterator[list[int]]:
    """Index batches in order of length, so that little padding is computed at inference."""
    order = np.argsort([len(x) for x in ids], kind="stable")
    for start in range(0, len(order), batch_size):
        yield [int(i) for i in order[start : start + batch_size]]


def bucketed_batches(
    ids: Sequence[Sequence[int]], batch_size: int, rng: np.random.Generator
) -> list[list[int]]:
    """Shuffled training batches of similar lengths (shuffle, sort within chunks, shuffle)."""
    order = rng.permutation(len(ids))
    chunk = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk].tolist(), key=lambda i: len(ids[i]))
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches
