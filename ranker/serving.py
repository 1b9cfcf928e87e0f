"""Serving: ``Ranker.load(dir).rank(contexts, k, allowed=None)``, batched and thread-safe.

Backends (stored in ``ranker.json`` at training time, overridable at load time):

- ``fp32``: the model as trained;
- ``int8``: PyTorch dynamic int8 quantisation (per-tensor) of all the encoder's Linear layers;
- ``int8-mixed``: the same but the feed-forward output projections stay fp32: their inputs (the
  GELU outputs) have outliers, and quantising them cost 0.5 points of Banking77 test top-1;
- ``bf16``: bfloat16 weights (only fast on CPUs with AMX; measured slower on this machine).

ONNX Runtime needs the ``onnx`` package to export and quantise, which is not installed; see
docs/ranker.md.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from scipy.special import softmax
from torch import nn

from ranker.data import build_context
from ranker.encoding import tokenize
from ranker.model import ModelMeta, TemplateClassifier, load_model_dir, predict_logits
from ranker.utils import threads_from_env

BACKENDS = ("fp32", "int8", "int8-mixed", "bf16")


def apply_backend(model: TemplateClassifier, backend: str) -> TemplateClassifier:
    """Convert a loaded fp32 model for ``backend`` (returns a new or the same module)."""
    if backend == "fp32":
        return model
    if backend == "bf16":
        model.encoder.to(torch.bfloat16)
        # The encoder returns bf16 hidden states; pooling and the head run in fp32.
        model.head.float()
        return _Bf16Wrapper(model)  # type: ignore[return-value]
    if backend in ("int8", "int8-mixed"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notice
            from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

            names = [n for n, m in model.encoder.named_modules() if isinstance(m, nn.Linear)]
            if backend == "int8-mixed":
                names = [n for n in names if not _is_ffn_output(n)]
            model.encoder = quantize_dynamic(  # type: ignore[no-untyped-call]
                model.encoder, dict.fromkeys(names, default_dynamic_qconfig), dtype=torch.qint8
            )
        return model
    raise ValueError(f"unknown backend {backend!r}; choose from {BACKENDS}")


def _is_ffn_output(name: str) -> bool:
    """BERT's feed-forward output projection (``layer.N.output.dense``), not attention's."""
    return name.endswith("output.dense") and "attention" not in name


class _Bf16Wrapper(nn.Module):
    def __init__(self, model: TemplateClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        emb = self.model.embed(input_ids, attention_mask).float()  # (batch, hidden)
        return self.model.head(emb)  # type: ignore[no-any-return]


class Ranker:
    """A loaded model directory that ranks template keys for conversation contexts.

    Load it once per process with :meth:`load` (cached); ``rank`` is safe to call from several
    threads (calls are serialised: one process computes with ``RANKER_THREADS`` threads).
    """

    _cache: ClassVar[dict[tuple[str, str | None, int | None], Ranker]] = {}
    _cache_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self, model_dir: str | Path, backend: str | None = None, threads: int | None = None
    ) -> None:
        self.model_dir = Path(model_dir)
        self.threads = threads if threads is not None else threads_from_env(1)
        torch.set_num_threads(self.threads)
        model, self.tokenizer, self.meta = load_model_dir(self.model_dir)
        self.backend = backend or self.meta.backend
        self.model = apply_backend(model, self.backend).eval()
        self._lock = threading.Lock()
        self._index = {k: i for i, k in enumerate(self.meta.labels)}

    @classmethod
    def load(
        cls, model_dir: str | Path, backend: str | None = None, threads: int | None = None
    ) -> Ranker:
        """The ranker for ``model_dir``, loaded once per process and then reused."""
        key = (str(Path(model_dir).resolve()), backend, threads)
        with cls._cache_lock:
            if key not in cls._cache:
                cls._cache[key] = cls(model_dir, backend, threads)
            return cls._cache[key]

    @property
    def labels(self) -> list[str]:
        """Template keys in head order."""
        return list(self.meta.labels)

    @property
    def label_index(self) -> dict[str, int]:
        """Template key -> column of ``predict``'s output."""
        return dict(self._index)

    @property
    def threshold(self) -> float:
        """Calibrated top-1 probability above which dev precision reached the target."""
        return self.meta.threshold

    @property
    def temperature(self) -> float:
        """The fitted temperature."""
        return self.meta.temperature

    @property
    def version(self) -> str:
        """The model's version string (training time stamp)."""
        return self.meta.version

    @property
    def metadata(self) -> dict[str, Any]:
        """Everything in ``ranker.json`` plus the serving backend and threads in use."""
        from dataclasses import asdict

        return {**asdict(self.meta), "serving_backend": self.backend, "threads": self.threads}

    def build_context(self, turns: Sequence[tuple[str, str]]) -> str:
        """The model input for ``(role, text)`` turns, oldest first, cut to this model's budget."""
        with self._lock:
            return build_context(
                turns, self.tokenizer, self.meta.max_tokens, self.meta.max_messages
            )

    def logits(self, contexts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Calibrated logits ``(n, labels)`` (already divided by the temperature)."""
        if not contexts:
            return np.zeros((0, len(self.meta.labels)), dtype=np.float32)
        with self._lock:
            torch.set_num_threads(self.threads)
            ids = tokenize(self.tokenizer, contexts, self.meta.max_tokens)
            raw = predict_logits(self.model, ids, batch_size)  # (n, labels)
        return raw / np.float32(self.meta.temperature)

    def predict(
        self,
        contexts: Sequence[str],
        allowed: Collection[str] | None = None,
        exclude: Sequence[Collection[str]] | None = None,
    ) -> np.ndarray:
        """Calibrated probabilities ``(n, labels)``, renormalised over the allowed templates.

        ``allowed``: keys that may be suggested (e.g. the active templates); ``exclude``: per
        context, keys to leave out (e.g. already sent in that conversation).
        """
        z = self.logits(contexts).astype(np.float64)  # (n, labels)
        if allowed is not None:
            mask = np.full(z.shape[1], -np.inf)
            mask[[self._index[k] for k in allowed if k in self._index]] = 0.0
            z = z + mask
        if exclude is not None:
            for row, keys in enumerate(exclude):
                z[row, [self._index[k] for k in keys if k in self._index]] = -np.inf
        all_masked = ~np.isfinite(z).any(axis=1)
        z[all_masked] = 0.0  # nothing allowed: uniform, filtered out by rank()
        return softmax(z, axis=1)  # type: ignore[no-any-return]

    def rank(
        self,
        contexts: Sequence[str],
        k: int = 5,
        allowed: Collection[str] | None = None,
        exclude: Sequence[Collection[str]] | None = None,
    ) -> list[list[tuple[str, float]]]:
        """For each context, the ``k`` best ``(template key, calibrated probability)`` pairs."""
        probs = self.predict(contexts, allowed, exclude)
        allowed_idx = None
        if allowed is not None:
            allowed_idx = {self._index[a] for a in allowed if a in self._index}
        out: list[list[tuple[str, float]]] = []
        for row in probs:
            order = np.argsort(-row, kind="stable")
            ranked: list[tuple[str, float]] = []
            for i in order:
                if len(ranked) >= k or row[i] <= 0.0:
                    break
                if allowed_idx is not None and int(i) not in allowed_idx:
                    continue
                ranked.append((self.meta.labels[int(i)], float(row[i])))
            out.append(ranked)
        return out

    def rank_turns(
        self,
        conversations: Sequence[Sequence[tuple[str, str]]],
        k: int = 5,
        allowed: Collection[str] | None = None,
    ) -> list[list[tuple[str, float]]]:
        """``rank`` for raw ``(role, text)`` turn lists: builds each context, then ranks."""
        return self.rank([self.build_context(t) for t in conversations], k, allowed)


def measure_latency(
    model: nn.Module, n_tokens: int = 128, calls: int = 50, warmup: int = 5
) -> float:
    """Median seconds of one forward pass for one input of ``n_tokens`` tokens."""
    input_ids = torch.randint(1000, 20000, (1, n_tokens))  # (1, seq)
    mask = torch.ones_like(input_ids)
    times = []
    with torch.inference_mode():
        for i in range(warmup + calls):
            t = time.perf_counter()
            model(input_ids, mask)
            if i >= warmup:
                times.append(time.perf_counter() - t)
    return float(np.median(times))


def choose_backend(
    model_dir: str | Path,
    dev_ids: list[list[int]],
    dev_y: np.ndarray,
    mode: str = "auto",
    max_dev: int = 1000,
    tolerance: float = 0.003,
    min_agreement: float = 0.985,
) -> dict[str, Any]:
    """Measure dev top-1 and latency per backend; serve the fastest that stays within
    ``tolerance`` of fp32's dev top-1 and agrees with fp32's top-1 on ``min_agreement`` of dev.

    The agreement check guards against a small dev set hiding a drop: per-tensor int8 was
    within 0.1 points on 1,000 dev examples but 0.5 points lower on the 3,080 test examples.
    """
    candidates = BACKENDS if mode == "auto" else ("fp32", mode)
    ids, y = dev_ids[:max_dev], dev_y[:max_dev]
    measured: dict[str, dict[str, float]] = {}
    reference = np.zeros(0, dtype=np.int64)
    for backend in candidates:
        model, _, _ = load_model_dir(model_dir)
        model = apply_backend(model, backend).eval()
        pred = predict_logits(model, ids, 64).argmax(1) if len(y) else np.zeros(0, np.int64)
        if backend == "fp32":
            reference = pred
        measured[backend] = {
            "dev_top1": float((pred == y).mean()) if len(y) else 0.0,
            "agreement_with_fp32": float((pred == reference).mean()) if len(y) else 1.0,
            "latency_128_ms": 1000 * measure_latency(model),
        }
    ok = [
        b
        for b in candidates
        if measured[b]["dev_top1"] >= measured["fp32"]["dev_top1"] - tolerance
        and measured[b]["agreement_with_fp32"] >= min_agreement
    ]
    best = min(ok, key=lambda b: measured[b]["latency_128_ms"])
    return {"backend": best, "measured": measured}


__all__ = ["BACKENDS", "ModelMeta", "Ranker", "apply_backend", "choose_backend"]
