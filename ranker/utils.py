"""Small helpers shared by training, evaluation and serving."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def threads_from_env(default: int = 1) -> int:
    """``RANKER_THREADS`` (intra-op threads per process), or ``default``.

    Threads times worker processes must fit the cores, so serving defaults to one thread.
    """
    raw = os.environ.get("RANKER_THREADS", "")
    return int(raw) if raw.strip() else default
