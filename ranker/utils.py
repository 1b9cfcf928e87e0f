"""Small helpers shared by training, evaluation, serving and the scaling study."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# The CPU flags that make bfloat16 native (/proc/cpuinfo): without one, PyTorch's bf16 kernels
# emulate it, and a ranking took 300 ms on an AVX2-only CPU instead of 47 ms in fp32.
BF16_NATIVE_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags from /proc/cpuinfo; None where they cannot be read (not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        return None
    return None


# The instruction sets that change which serving backend is fastest (bench/machine.py prints the
# same ones beside every figure): a backend chosen on a CPU with other ones is measured again.
SPEED_FLAGS = frozenset(
    {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "avx_vnni"}
)


def speed_flags(flags: frozenset[str] | None) -> list[str] | None:
    """The :data:`SPEED_FLAGS` among ``flags``, sorted; None when the flags are unknown."""
    return None if flags is None else sorted(flags & SPEED_FLAGS)


def native_bf16(flags: frozenset[str] | None) -> bool | None:
    """Whether a CPU with ``flags`` computes bfloat16 natively; None when the flags are unknown."""
    return None if flags is None else bool(flags & BF16_NATIVE_FLAGS)


def threads_from_env(default: int = 1) -> int:
    """``RANKER_THREADS`` (intra-op threads per process), or ``default``.

    Threads times worker processes must fit the cores, so serving defaults to one thread.
    """
    raw = os.environ.get("RANKER_THREADS", "")
    return int(raw) if raw.strip() else default


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8), creating its folder.

    Written beside it and renamed into place, so that an interrupted process never leaves a
    half-written file under the real name (a resumed study trusts every file it finds).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON with sorted keys, as :func:`write_text_atomic` does."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
