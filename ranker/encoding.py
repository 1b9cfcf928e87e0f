"""Tokenising contexts once and batching them with padding to the longest real length."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ranker.data import OLDEST_FIRST, context_format_name


def tokenize(tokenizer: Any, texts: Sequence[str], max_tokens: int) -> list[list[int]]:
    """Token ids of each text with special tokens, truncated from the left to ``max_tokens``."""
    if not texts:
        return []
    out = tokenizer(list(texts), truncation=True, max_length=max_tokens, padding=False)
    return [list(x) for x in out["input_ids"]]


def tokenize_contexts(
    tokenizer: Any, contexts: Sequence[str], max_tokens: int, context_format: str = OLDEST_FIRST
) -> list[list[int]]:
    """Token ids of context strings (from :func:`ranker.data.build_context`) in ``context_format``.

    ``oldest-first``: :func:`tokenize` of the string. ``newest-first``: a tokenizer pair, the
    newest line (message) as segment A, the earlier lines newest first as segment B; whole
    messages are dropped from B's oldest end until the pair fits ``max_tokens``, and a newest
    message longer than the budget keeps its last tokens (as left truncation does).
    """
    fmt = context_format_name(context_format)
    if fmt == OLDEST_FIRST:
        return tokenize(tokenizer, contexts, max_tokens)
    if not contexts:
        return []
    split = [c.split("\n") for c in contexts]
    lines = list(dict.fromkeys(line for msgs in split for line in msgs))
    counts = dict(zip(lines, _lengths(tokenizer, lines), strict=True))
    budget = max_tokens - tokenizer.num_special_tokens_to_add(pair=True)
    pairs: list[tuple[int, str, list[str]]] = []  # (context, newest, earlier newest first)
    out: list[list[int]] = [[] for _ in contexts]
    singles: list[int] = []
    for i, msgs in enumerate(split):
        left = budget - counts[msgs[-1]]
        earlier: list[str] = []
        for line in reversed(msgs[:-1]):  # newest first; stop at the first that does not fit
            if counts[line] > left:
                break
            earlier.append(line)
            left -= counts[line]
        if earlier:
            pairs.append((i, msgs[-1], earlier))
        else:
            singles.append(i)
    newest_alone = tokenize(tokenizer, [split[i][-1] for i in singles], max_tokens)
    for i, ids in zip(singles, newest_alone, strict=True):
        out[i] = ids
    while pairs:
        encoded = tokenizer(
            [a for _, a, _ in pairs], ["\n".join(b) for _, _, b in pairs], padding=False
        )["input_ids"]
        retry: list[tuple[int, str, list[str]]] = []
        for (i, newest, earlier), ids in zip(pairs, encoded, strict=True):
            if len(ids) <= max_tokens:
                out[i] = list(ids)
            elif len(earlier) > 1:  # the lines joined took more tokens than apart: cut again
                retry.append((i, newest, earlier[:-1]))
            else:
                out[i] = tokenize(tokenizer, [newest], max_tokens)[0]
        pairs = retry
    return out


def _lengths(tokenizer: Any, texts: list[str]) -> list[int]:
    return [len(x) for x in tokenizer(texts, add_special_tokens=False)["input_ids"]]


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
