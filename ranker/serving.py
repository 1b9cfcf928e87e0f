"""Serving: ``Ranker.load(dir).rank(contexts, k, allowed=None)``, batched and thread-safe.

A backend is the model as a :data:`~ranker.model.Forward` (numpy ids and mask in, logits out).
Backends (stored in ``ranker.json`` at training time, overridable at load time):

- ``fp32``: the PyTorch model as trained;
- ``bf16``: PyTorch with bfloat16 encoder weights (oneDNN runs them on AMX where the CPU has it);
- ``int8``: PyTorch dynamic int8 quantisation (per-tensor) of all the encoder's Linear layers
  (served only when named: ``auto`` leaves it out, see :data:`AUTO_BACKENDS`);
- ``int8-mixed``: the same but the feed-forward output projections stay fp32: their inputs (the
  GELU outputs) have outliers, and quantising them cost 0.5 points of Banking77 test top-1;
- ``onnx``: ONNX Runtime, fp32 graph exported to ``DIR/onnx/model.onnx``;
- ``onnx-int8``: ONNX Runtime, MatMul weights int8 per output channel, activations quantised per
  call (``DIR/onnx/model-int8.onnx``). See :mod:`ranker.export`.

The ONNX files are written at the end of training (when the backend choice measures them) or on
the first load of an ONNX backend.

The stored backend was chosen on the machine that trained, which need not be the one that serves:
``bf16`` is the fastest on a CPU with native bfloat16 (AVX-512 BF16, AMX) and several times the
slowest without it, and int8 gains most where the CPU has VNNI. Loading therefore checks the CPU
(:func:`served_backend`, a read of ``/proc/cpuinfo``): on one whose instruction sets differ from
the training CPU's, the backends that training measured as accurate are timed again and the
fastest serves; a ``bf16`` model on a CPU without native bfloat16 never serves as bf16.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ranker.data import build_context
from ranker.encoding import tokenize_contexts
from ranker.export import ONNX_FILES, export_onnx, onnx_path
from ranker.metrics import topk_accuracy
from ranker.model import (
    ENCODER_DIR,
    Forward,
    ModelMeta,
    TemplateClassifier,
    load_model_dir,
    load_tokenizer,
    predict_logits,
    torch_forward,
)
from ranker.utils import (
    BF16_NATIVE_FLAGS,
    cpu_flags,
    native_bf16,
    speed_flags,
    threads_from_env,
)

BACKENDS = ("fp32", "bf16", "int8", "int8-mixed", "onnx", "onnx-int8")
# What --backend auto measures and may serve. PyTorch's per-tensor int8 is left out: it lost
# accuracy wherever it was measured (0.43-0.46 points of Banking77 test top-1, 0.85 on held-out
# demo chats) and was slower than onnx-int8 wherever both were timed, and a small dev set (the
# demo's 91 decided turns) can let it through the agreement check. It is still served by name.
AUTO_BACKENDS = tuple(b for b in BACKENDS if b != "int8")
# choose_backend's bar: within this much of fp32's dev top-1, agreeing with fp32's top-1 on at
# least this share of the dev examples that fp32 decides: those whose calibrated top-1
# probability leads the runner-up by DECIDED_MARGIN or more. Where fp32 itself is torn between
# two templates (both shown in the list), any change of arithmetic swaps them, and counting those
# swaps refused int8 for models that int8 does not harm: on 1,054 held-out demo turns onnx-int8
# agreed with fp32 on 96.5% overall yet on 99.9% of the decided ones, its top-1 0.6 points
# above fp32's, every confident suggestion unchanged (docs/ranker.md, "Backend choice rule").
TOP1_TOLERANCE = 0.003
MIN_AGREEMENT = 0.985
DECIDED_MARGIN = 0.1
# oneDNN compiles bf16 kernels (AMX, AVX-512 BF16) for each input shape it meets and keeps them:
# served at every length from 3 to 96 tokens, a bf16 model grew by 168 MB, and a length's first
# ranking was 40% slower than its next (bench/input_lengths_bench.py). The bf16 backend therefore
# rounds lengths up to a multiple of this (six shapes for 96 tokens), and warm_up compiles each
# before a worker takes work; the padding costs ~2%. fp32 and ONNX keep no such per-shape state
# (fp32 9 MB, ONNX none) and padding would cost them 17-20%, so they run at the exact length.
BF16_LENGTH_STEP = 16

logger = logging.getLogger(__name__)


def load_backend(model_dir: str | Path, backend: str, threads: int = 1) -> Forward:
    """The model of ``model_dir`` as a :data:`Forward` for ``backend``, on ``threads`` threads."""
    if backend in ONNX_FILES:
        return _onnx_forward(model_dir, backend, threads)
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {BACKENDS}")
    torch.set_num_threads(threads)
    model, _, _ = load_model_dir(model_dir)
    forward = torch_forward(apply_backend(model, backend))
    return _lengths_rounded_up(forward, BF16_LENGTH_STEP) if backend == "bf16" else forward


def _lengths_rounded_up(forward: Forward, step: int) -> Forward:
    """``forward`` on inputs right-padded (masked) to a multiple of ``step`` tokens."""

    def padded(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        extra = -input_ids.shape[1] % step
        if extra:
            pad = ((0, 0), (0, extra))
            input_ids, attention_mask = np.pad(input_ids, pad), np.pad(attention_mask, pad)
        return forward(input_ids, attention_mask)

    return padded


def _onnx_forward(model_dir: str | Path, backend: str, threads: int) -> Forward:
    import onnxruntime as ort

    path = onnx_path(model_dir, backend)
    if not path.exists():
        export_onnx(model_dir)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def forward(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        logits: np.ndarray = session.run(["logits"], feed)[0]  # (batch, labels)
        return logits

    return forward


def apply_backend(model: TemplateClassifier, backend: str) -> nn.Module:
    """Convert a loaded fp32 model for a PyTorch ``backend`` (returns a new or the same module)."""
    if backend == "fp32":
        return model
    if backend == "bf16":
        model.encoder.to(torch.bfloat16)
        # The encoder returns bf16 hidden states; pooling and the head run in fp32.
        model.head.float()
        return _Bf16Wrapper(model)
    if backend in ("int8", "int8-mixed"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notice
            from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

            names = [n for n, m in model.encoder.named_modules() if isinstance(m, nn.Linear)]
            if backend == "int8-mixed":
                names = [n for n in names if not _is_ffn_output(n)]
            # torch.ao.quantization's functions carry no annotations.
            model.encoder = quantize_dynamic(  # type: ignore[no-untyped-call]
                model.encoder, dict.fromkeys(names, default_dynamic_qconfig), dtype=torch.qint8
            )
        return model
    raise ValueError(f"not a PyTorch backend: {backend!r}")


def _is_ffn_output(name: str) -> bool:
    """BERT's feed-forward output projection (``layer.N.output.dense``), not attention's."""
    return name.endswith("output.dense") and "attention" not in name


class _Bf16Wrapper(nn.Module):
    def __init__(self, model: TemplateClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        emb = self.model.embed(input_ids, attention_mask).float()  # (batch, hidden)
        logits: torch.Tensor = self.model.head(emb)  # (batch, labels)
        return logits


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
        self.meta = ModelMeta.load(self.model_dir)
        self.tokenizer = load_tokenizer(str(self.model_dir / ENCODER_DIR))
        loaded: Forward | None = None  # a backend served_backend already loaded to time it
        if backend is None:
            backend, loaded = served_backend(self.model_dir, self.meta, self.threads)
        self.backend = backend
        self._forward = loaded or load_backend(self.model_dir, backend, self.threads)
        self._lock = threading.Lock()
        self._index = {k: i for i, k in enumerate(self.meta.labels)}

    def warm_up(self, words: Sequence[int] = (4, 24, 120), rounds: int = 2) -> None:
        """Rank a few synthetic contexts so that the first real ranking is not the slow one.

        A fresh backend pays one-off costs on its first calls (allocator pools, oneDNN or ONNX
        Runtime kernels chosen per input shape, lazy initialisation in the tokenizer and the
        model): up to seconds on the first call instead of milliseconds. A worker calls this
        after loading a version and before the version ranks anything. Contexts longer than
        the model's budget are cut to it, as real ones are. The bf16 backend also runs once at
        each of the lengths it serves (:data:`BF16_LENGTH_STEP`), each shape's kernels then
        compiled.
        """
        for _ in range(rounds):
            for n in words:
                self.logits([" ".join(["my card payment"] * max(1, n // 3))])
            if self.backend == "bf16":  # every length it will be served at (BF16_LENGTH_STEP)
                step = BF16_LENGTH_STEP
                for length in range(step, self.meta.max_tokens + step, step):
                    ids = np.ones((1, length), dtype=np.int64)  # (1, length): any valid token
                    with self._lock:
                        self._forward(ids, np.ones_like(ids))

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
    def forward(self) -> Forward:
        """The loaded backend's forward pass, token ids to logits (what measure_latency times)."""
        return self._forward

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
        """The context string of ``(role, text)`` turns, oldest first, cut to this model's budget.

        The string is the same for every context format (readable, oldest first); ``logits``
        tokenises it in the model directory's format (``meta.context_format``).
        """
        with self._lock:
            return build_context(
                turns, self.tokenizer, self.meta.max_tokens, self.meta.max_messages
            )

    def logits(self, contexts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Calibrated logits ``(n, labels)`` (already divided by the temperature)."""
        if not contexts:
            return np.zeros((0, len(self.meta.labels)), dtype=np.float32)
        with self._lock:
            torch.set_num_threads(self.threads)  # process-wide; ONNX sessions keep their own
            ids = tokenize_contexts(
                self.tokenizer, contexts, self.meta.max_tokens, self.meta.context_format
            )
            raw = predict_logits(self._forward, ids, batch_size)  # (n, labels)
        return raw / np.float32(self.meta.temperature)

    def _shown(
        self,
        n: int,
        allowed: Collection[str] | None,
        exclude: Sequence[Collection[str]] | None,
    ) -> np.ndarray:
        """``(n, labels)`` bool: the keys that may be shown for each context."""
        shown = np.ones((n, len(self.meta.labels)), dtype=bool)
        if allowed is not None:
            columns = np.zeros(len(self.meta.labels), dtype=bool)
            columns[[self._index[k] for k in allowed if k in self._index]] = True
            shown &= columns
        if exclude is not None:
            for row, keys in enumerate(exclude):
                shown[row, [self._index[k] for k in keys if k in self._index]] = False
        return shown

    def probabilities(
        self,
        logits: np.ndarray,
        allowed: Collection[str] | None = None,
        exclude: Sequence[Collection[str]] | None = None,
        renormalise: bool = True,
    ) -> np.ndarray:
        """Probabilities ``(n, labels)`` from calibrated ``logits`` (as :meth:`logits` returns).

        Keys not ``allowed`` or ``exclude``-d for a context get 0. ``renormalise=True``: the
        softmax over the keys left (a context with none left gets the uniform distribution).
        ``renormalise=False``: the calibrated softmax over all the model's labels, the
        probability that the confidence threshold was fitted on, with the left-out keys zeroed
        (what the live panel shows: hiding a template does not make the others surer).
        """
        z = np.asarray(logits, dtype=np.float64)  # (n, labels)
        shown = self._shown(len(z), allowed, exclude)
        if not renormalise:
            return np.where(shown, _softmax(z), 0.0)
        z = np.where(shown, z, -np.inf)
        z[~shown.any(axis=1)] = 0.0
        return _softmax(z)

    def predict(
        self,
        contexts: Sequence[str],
        allowed: Collection[str] | None = None,
        exclude: Sequence[Collection[str]] | None = None,
        renormalise: bool = True,
    ) -> np.ndarray:
        """Calibrated probabilities ``(n, labels)``, by default renormalised over the allowed
        templates.

        ``allowed``: keys that may be suggested (e.g. the active templates); ``exclude``: per
        context, keys to leave out (e.g. already sent in that conversation). See
        :meth:`probabilities` for ``renormalise``.
        """
        return self.probabilities(self.logits(contexts), allowed, exclude, renormalise)

    def rank(
        self,
        contexts: Sequence[str],
        k: int = 5,
        allowed: Collection[str] | None = None,
        exclude: Sequence[Collection[str]] | None = None,
        renormalise: bool = True,
    ) -> list[list[tuple[str, float]]]:
        """For each context, the ``k`` best ``(template key, calibrated probability)`` pairs.

        ``renormalise=False`` keeps the probabilities the confidence threshold was fitted on
        (see :meth:`probabilities`); the order is the same either way.
        """
        logits = self.logits(contexts)
        probs = self.probabilities(logits, allowed, exclude, renormalise)  # 0 where left out
        none_left = np.logical_not(self._shown(len(logits), allowed, exclude).any(axis=1))
        labels = self.meta.labels
        out: list[list[tuple[str, float]]] = []
        for row, empty in zip(probs, none_left, strict=True):
            top = np.argsort(-row, kind="stable")[: 0 if empty else k]
            out.append([(labels[i], float(row[i])) for i in top if row[i] > 0.0])
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
    forward: Forward, n_tokens: int = 128, calls: int = 50, warmup: int = 5
) -> float:
    """Median seconds of one forward pass for one input of ``n_tokens`` tokens."""
    input_ids = np.random.default_rng(0).integers(1000, 20000, (1, n_tokens))  # (1, seq)
    mask = np.ones_like(input_ids)
    times = []
    for i in range(warmup + calls):
        t = time.perf_counter()
        forward(input_ids, mask)
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return float(np.median(times))


def decided_by(probs: np.ndarray) -> np.ndarray:
    """Which rows of calibrated probabilities ``(n, labels)`` decide: their top-1 leads the
    runner-up by :data:`DECIDED_MARGIN` or more (a one-label row always does)."""
    ranked = np.sort(probs, axis=1)
    runner_up = ranked[:, -2] if ranked.shape[1] > 1 else np.zeros(len(ranked))
    decided: np.ndarray = ranked[:, -1] - runner_up >= DECIDED_MARGIN
    return decided


def accurate_backends(
    measured: dict[str, dict[str, float]],
    tolerance: float = TOP1_TOLERANCE,
    min_agreement: float = MIN_AGREEMENT,
) -> list[str]:
    """The measured backends within ``tolerance`` of fp32's dev top-1 that agree with fp32's
    top-1 on ``min_agreement`` of the dev examples fp32 decides (fp32 itself always). Models
    measured before that split was recorded are judged by their agreement on all of dev."""
    return [
        backend
        for backend, m in measured.items()
        if m["dev_top1"] >= measured["fp32"]["dev_top1"] - tolerance
        and m.get("agreement_where_decided", m["agreement_with_fp32"]) >= min_agreement
    ]


def suited_backend(meta: ModelMeta, flags: frozenset[str] | None) -> str:
    """The backend to serve ``meta``'s model with on a CPU with ``flags``: the stored one,
    unless it is ``bf16`` and the CPU has no native bfloat16; then the fastest of the other
    backends that training measured as accurate (their latencies were measured on the
    training machine, whose order they keep well enough to choose by), else ``fp32``.
    Unknown flags: the stored one."""
    if meta.backend != "bf16" or native_bf16(flags) is not False:
        return meta.backend
    measured = meta.metrics.get("backends") or {}
    choices = [b for b in accurate_backends(measured) if b != "bf16"] if "fp32" in measured else []
    chosen = min(choices, key=lambda b: measured[b]["latency_128_ms"], default="fp32")
    logger.warning(
        "ranker: the model's backend is bf16 but this CPU has no native bfloat16 (%s): "
        "serving %s instead (set RANKER_BACKEND to choose)",
        "/".join(sorted(BF16_NATIVE_FLAGS)),
        chosen,
    )
    return chosen


def served_backend(
    model_dir: str | Path, meta: ModelMeta, threads: int = 1
) -> tuple[str, Forward | None]:
    """The backend to serve ``model_dir`` with on this CPU, and its loaded forward where
    choosing it meant loading it (else ``None``: the caller loads it).

    Training chose the stored backend by latencies measured on its own CPU, and recorded that
    CPU's :data:`~ranker.utils.SPEED_FLAGS`. On a CPU with the same ones, or where either is
    unknown, :func:`suited_backend` decides without measuring. On another, the backends that
    training found accurate (and that this CPU runs natively) are timed again here, one
    128-token input each, and the fastest serves: a few seconds, once per process and model.
    The timed forward of the chosen one is returned, so that it is not loaded a second time.
    """
    flags = cpu_flags()
    trained_on = meta.metrics.get("backend_cpu_flags")
    here = speed_flags(flags)
    measured = meta.metrics.get("backends") or {}
    if trained_on is None or here is None or sorted(trained_on) == here or "fp32" not in measured:
        return suited_backend(meta, flags), None
    choices = accurate_backends(measured)
    if native_bf16(flags) is False:
        choices = [b for b in choices if b != "bf16"]
    if len(choices) < 2:
        return suited_backend(meta, flags), None
    chosen, forward = "", None
    latency: dict[str, float] = {}
    for b in choices:  # one loaded at a time: the fastest so far is kept, the others dropped
        candidate = load_backend(model_dir, b, threads)
        latency[b] = 1000 * measure_latency(candidate, calls=20, warmup=3)
        if forward is None or latency[b] < latency[chosen]:
            chosen, forward = b, candidate
    logger.warning(
        "ranker: the backend was chosen on a CPU with %s; this one has %s. Measured here (ms, "
        "128 tokens): %s; serving %s (set RANKER_BACKEND to choose)",
        " ".join(trained_on) or "none of them",
        " ".join(here) or "none of them",
        ", ".join(f"{b} {ms:.1f}" for b, ms in sorted(latency.items(), key=lambda kv: kv[1])),
        chosen,
    )
    return chosen, forward


def choose_backend(
    model_dir: str | Path,
    dev_ids: list[list[int]],
    dev_y: np.ndarray,
    mode: str = "auto",
    max_dev: int = 1000,
    tolerance: float = TOP1_TOLERANCE,
    min_agreement: float = MIN_AGREEMENT,
    threads: int | None = None,
) -> dict[str, Any]:
    """Measure dev top-1 and latency per backend; serve the fastest that stays within
    ``tolerance`` of fp32's dev top-1 and agrees with fp32's top-1 on ``min_agreement`` of the
    dev examples where fp32's calibrated top-1 leads by :data:`DECIDED_MARGIN` or more.

    The agreement check guards against a small dev set hiding a drop: per-tensor int8 was
    within 0.1 points on 1,000 dev examples but 0.5 points lower on the 3,080 test examples.
    It leaves out fp32's near-ties, where any backend (int8 most) swaps two templates that are
    both shown; agreement on all of dev is recorded beside it (``agreement_with_fp32``).
    Latency is measured with the serving thread count (``RANKER_THREADS``, default 1). In
    ``auto`` mode bf16 is left out on a CPU without native bfloat16: emulated, it is several times
    slower than fp32 (it could never be chosen) and measuring it cost a third of a short training.
    """
    threads = threads if threads is not None else threads_from_env(1)
    candidates: tuple[str, ...] = AUTO_BACKENDS if mode == "auto" else ("fp32", mode)
    if mode == "auto" and native_bf16(cpu_flags()) is False:
        candidates = tuple(b for b in candidates if b != "bf16")
    ids, y = dev_ids[:max_dev], dev_y[:max_dev]
    temperature = ModelMeta.load(model_dir).temperature
    measured: dict[str, dict[str, float]] = {}
    reference = np.zeros(0, dtype=np.int64)
    decided = np.zeros(0, dtype=bool)
    for backend in candidates:  # fp32 first: the reference
        forward = load_backend(model_dir, backend, threads)
        logits = predict_logits(forward, ids, 64)  # (n, labels)
        pred = logits.argmax(1) if len(y) else np.zeros(0, np.int64)
        if backend == "fp32":
            reference = pred
            decided = decided_by(_softmax(logits / np.float32(temperature)))
            if not decided.any():  # every example a near-tie: judge on all of them
                decided = np.ones(len(y), dtype=bool)
        same = pred == reference
        measured[backend] = {
            "dev_top1": topk_accuracy(logits, y, 1),
            "agreement_with_fp32": float(same.mean()) if len(y) else 1.0,
            "agreement_where_decided": float(same[decided].mean()) if len(y) else 1.0,
            "latency_128_ms": 1000 * measure_latency(forward),
        }
    ok = accurate_backends(measured, tolerance, min_agreement)
    best = min(ok, key=lambda b: measured[b]["latency_128_ms"])
    return {
        "backend": best,
        "measured": measured,
        "threads": threads,
        "cpu_flags": speed_flags(cpu_flags()),  # what served_backend compares against
    }


def _softmax(z: np.ndarray) -> np.ndarray:
    """Row softmax; ``-inf`` entries get probability 0 (each row needs one finite entry)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    probs: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return probs


__all__ = [
    "AUTO_BACKENDS",
    "BACKENDS",
    "ModelMeta",
    "Ranker",
    "apply_backend",
    "choose_backend",
    "decided_by",
    "load_backend",
    "served_backend",
    "suited_backend",
]
