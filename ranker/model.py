"""The classifier: a pretrained encoder, mean pooling, L2 norm and a cosine head over template keys.

A model directory holds:

- ``encoder/``: the fine-tuned encoder (``config.json``, ``model.safetensors``) and its tokenizer;
- ``head.safetensors``: the head (prototype matrix, log-scale, bias);
- ``ranker.json``: :class:`ModelMeta`: base model, max tokens, context format, ordered labels,
  temperature, threshold, serving backend, training arguments and metrics;
- ``reliability.png``: the reliability diagram before/after temperature scaling.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ranker.data import CONTEXT_FORMAT, NEWEST_FIRST, context_format_name
from ranker.utils import write_json_atomic

if TYPE_CHECKING:
    from transformers import PreTrainedModel

META_FILE = "ranker.json"
HEAD_FILE = "head.safetensors"
ENCODER_DIR = "encoder"

# Pooling of the encoder's token vectors into one embedding (then L2-normalised by the head):
# the mean over the whole input, or (newest-first inputs only) the mean over the input plus a
# multiple of the mean over segment A, the newest message, so that it weighs as much as the rest
# together (1) or more (3). Over a frozen encoder the whole-input mean is dominated by the
# agent's long template answers, which precede closings as much as a customer's next problem:
# the newest message weighed 3 times ranks a chat's second topic better (docs/benchmarks.md,
# "Demo chats").
POOL_MEAN = "mean+l2"
POOL_MEAN_NEWEST = "mean+newest+l2"
POOL_MEAN_3NEWEST = "mean+3newest+l2"
POOLINGS = (POOL_MEAN, POOL_MEAN_NEWEST, POOL_MEAN_3NEWEST)
NEWEST_WEIGHTS = {POOL_MEAN: 0.0, POOL_MEAN_NEWEST: 1.0, POOL_MEAN_3NEWEST: 3.0}
"""The weight of the newest message's mean in each pooling (0: not pooled apart)."""


def offline() -> None:
    """Forbid Hugging Face downloads in this process: weights must come from local folders."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass
class ModelMeta:
    """Everything besides weights that a model directory needs to rebuild and serve the ranker."""

    labels: list[str]
    base_model: str
    max_tokens: int = 256
    max_messages: int | None = None
    context_format: str = CONTEXT_FORMAT
    pooling: str = "mean+l2"
    head: str = "cosine"
    temperature: float = 1.0
    threshold: float = 0.5
    target_precision: float = 0.9
    backend: str = "fp32"
    version: str = ""
    train_args: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Directories written before the format option hold a description of oldest-first.
        self.context_format = context_format_name(self.context_format)
        check_pooling(self.context_format, self.pooling)

    def save(self, model_dir: str | Path) -> None:
        """Write ``ranker.json``."""
        write_json_atomic(Path(model_dir) / META_FILE, asdict(self))

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelMeta:
        """Read ``ranker.json``, ignoring keys this version does not know."""
        raw = json.loads((Path(model_dir) / META_FILE).read_text("utf-8"))
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def check_pooling(context_format: str, pooling: str) -> None:
    """Raise ``ValueError`` unless ``pooling`` is known and fits ``context_format``."""
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose from {POOLINGS}")
    if NEWEST_WEIGHTS[pooling] and context_format_name(context_format) != NEWEST_FIRST:
        raise ValueError(f"pooling {pooling!r} needs the {NEWEST_FIRST!r} context format")


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors that the attention mask keeps."""
    m = mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (batch, hidden)


class CosineHead(nn.Module):
    """Logits = exp(log_scale) * cos(embedding, prototype_c) + bias_c.

    Initialised from class-mean embeddings (prototypes), so that the head is already a good
    nearest-centroid classifier before any training step, which keeps early gradients from
    wrecking the pretrained encoder.
    """

    def __init__(self, hidden: int, n_labels: int, scale: float = 20.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_labels, hidden) * 0.02)  # (labels, hidden)
        self.bias = nn.Parameter(torch.zeros(n_labels))  # (labels,)
        self.log_scale = nn.Parameter(torch.tensor(float(scale)).log())

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        w = nn.functional.normalize(self.weight, dim=-1)  # (labels, hidden)
        e = nn.functional.normalize(emb, dim=-1)  # (batch, hidden)
        return self.log_scale.exp() * (e @ w.T) + self.bias  # (batch, labels)


class TemplateClassifier(nn.Module):
    """Encoder → pooling → cosine head over the template keys.

    ``sep_token_id`` is set for ``newest-first`` (pair) inputs: everything after the first
    separator is segment B, given token type 1 where the encoder has segment embeddings. The
    segments are found from the ids inside the model, so every backend (PyTorch, ONNX) takes
    the same ``(input_ids, attention_mask)`` as for one-segment inputs.
    """

    def __init__(
        self,
        encoder: nn.Module,
        n_labels: int,
        scale: float = 20.0,
        *,
        sep_token_id: int | None = None,
        pooling: str = POOL_MEAN,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; choose from {POOLINGS}")
        if NEWEST_WEIGHTS[pooling] and sep_token_id is None:
            raise ValueError(f"pooling {pooling!r} needs pair inputs (a separator token id)")
        self.encoder = encoder
        self.head = CosineHead(hidden_size(encoder), n_labels, scale)
        self.sep_token_id = sep_token_id
        self.pooling = pooling
        self.newest_weight = NEWEST_WEIGHTS[pooling]
        types = int(getattr(as_pretrained(encoder).config, "type_vocab_size", 0) or 0)
        self.token_types = sep_token_id is not None and types >= 2

    def _segment_b(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """1 on the real tokens after the first separator, else 0: ``(batch, seq)`` int64."""
        sep = torch.eq(input_ids, int(self.sep_token_id or 0)).long()  # (batch, seq)
        after_first = torch.gt(sep.cumsum(dim=1) - sep, 0)  # (batch, seq)
        return after_first.long() * attention_mask.long()

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Pooled sentence embeddings, ``(batch, hidden)``."""
        if self.sep_token_id is None:
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
            return mean_pool(out.last_hidden_state, attention_mask)  # (batch, hidden)
        segment_b = self._segment_b(input_ids, attention_mask)  # (batch, seq)
        kwargs = {"token_type_ids": segment_b} if self.token_types else {}
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        pooled = mean_pool(out.last_hidden_state, attention_mask)  # (batch, hidden)
        if self.newest_weight:
            segment_a = attention_mask.long() - segment_b  # [CLS] newest [SEP]
            pooled = pooled + self.newest_weight * mean_pool(out.last_hidden_state, segment_a)
        return pooled

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.embed(input_ids, attention_mask))  # (batch, labels)
        return logits


def build_classifier(
    encoder: nn.Module,
    n_labels: int,
    tokenizer: Any,
    context_format: str = CONTEXT_FORMAT,
    pooling: str = POOL_MEAN,
    scale: float = 20.0,
) -> TemplateClassifier:
    """The classifier for inputs in ``context_format`` (from :mod:`ranker.encoding`)."""
    check_pooling(context_format, pooling)
    pair = context_format_name(context_format) == NEWEST_FIRST
    sep = int(tokenizer.sep_token_id) if pair else None
    return TemplateClassifier(encoder, n_labels, scale, sep_token_id=sep, pooling=pooling)


def as_pretrained(module: nn.Module) -> PreTrainedModel:
    """``module`` as the Hugging Face model it is, with its ``config`` and ``save_pretrained``."""
    from transformers import PreTrainedModel

    if not isinstance(module, PreTrainedModel):
        raise TypeError(f"not a Hugging Face model: {type(module).__name__}")
    return module


def hidden_size(encoder: nn.Module) -> int:
    """Width of a Hugging Face encoder's hidden states (``config.hidden_size``)."""
    return int(as_pretrained(encoder).config.hidden_size)


def load_encoder(path: str, dtype: torch.dtype = torch.float32) -> nn.Module:
    """A Hugging Face encoder from a local folder, never from the network."""
    offline()
    from transformers import AutoModel

    return as_pretrained(AutoModel.from_pretrained(path, dtype=dtype))


def load_tokenizer(path: str) -> Any:
    """The tokenizer of a local model folder, truncating from the left (newest text kept)."""
    offline()
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    tok.truncation_side = "left"
    return tok


def save_model_dir(
    model_dir: str | Path, model: TemplateClassifier, tokenizer: Any, meta: ModelMeta
) -> None:
    """Write a self-describing model directory."""
    root = Path(model_dir)
    (root / ENCODER_DIR).mkdir(parents=True, exist_ok=True)
    as_pretrained(model.encoder).save_pretrained(root / ENCODER_DIR)
    tokenizer.save_pretrained(root / ENCODER_DIR)
    head = {k: v.detach().contiguous() for k, v in model.head.state_dict().items()}
    save_file(head, str(root / HEAD_FILE))
    meta.save(root)


def load_model_dir(model_dir: str | Path) -> tuple[TemplateClassifier, Any, ModelMeta]:
    """Rebuild ``(model, tokenizer, meta)`` from a model directory alone."""
    root = Path(model_dir)
    meta = ModelMeta.load(root)
    encoder = load_encoder(str(root / ENCODER_DIR))
    tokenizer = load_tokenizer(str(root / ENCODER_DIR))
    model = build_classifier(
        encoder, len(meta.labels), tokenizer, meta.context_format, meta.pooling
    )
    model.head.load_state_dict(load_file(str(root / HEAD_FILE)))
    model.eval()
    return model, tokenizer, meta


Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""A model as a function ``(input_ids, attention_mask) -> logits``: int64 ``(batch, seq)`` arrays
in, float32 ``(batch, labels)`` out. Every serving backend (PyTorch or ONNX Runtime) is one."""


def torch_forward(model: nn.Module) -> Forward:
    """``model`` as a :data:`Forward` run under ``torch.inference_mode()``."""
    model.eval()

    def forward(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            ids, mask = torch.from_numpy(input_ids), torch.from_numpy(attention_mask)
            logits: torch.Tensor = model(ids, mask)  # (batch, labels)
            return logits.float().numpy()

    return forward


def predict_logits(
    model: nn.Module | Forward,
    ids: list[list[int]],
    batch_size: int = 64,
    progress: bool = False,
) -> np.ndarray:
    """Uncalibrated logits ``(n, labels)`` of tokenised inputs, batched by length, input order."""
    from tqdm.auto import tqdm

    from ranker.encoding import length_sorted_batches, pad_batch

    forward = torch_forward(model) if isinstance(model, nn.Module) else model
    if len(ids) == 1:  # the serving hot path: no sorting, no progress bar
        return forward(*pad_batch(ids))
    out: np.ndarray | None = None
    batches = list(length_sorted_batches(ids, batch_size))
    for batch in tqdm(batches, desc="predict", disable=not progress, leave=False):
        logits = forward(*pad_batch([ids[i] for i in batch]))  # (batch, labels)
        if out is None:
            out = np.zeros((len(ids), logits.shape[1]), dtype=np.float32)
        out[batch] = logits
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)
