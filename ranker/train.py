"""Training: optional domain-adaptive MLM, then discriminative fine-tuning, then calibration.

Recipe (see docs/ranker.md for the measurements behind it): mean pooling + L2 norm, a cosine head
initialised from class-mean embeddings (prototypes) of the frozen encoder with a learned scale,
AdamW with a 20x larger learning rate for the head, linear warm-up and decay, early stopping on
dev NLL, then one temperature fitted on dev.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.special import softmax
from torch import nn
from tqdm.auto import tqdm

from ranker import calibration
from ranker.data import (
    CatalogEntry,
    Conversation,
    Example,
    cap_examples,
    iter_examples,
    read_catalog,
    read_conversations,
    split_conversations,
)
from ranker.encoding import bucketed_batches, collate, tokenize
from ranker.model import (
    ModelMeta,
    TemplateClassifier,
    default_base_model,
    load_encoder,
    load_tokenizer,
    predict_logits,
    save_model_dir,
)
from ranker.utils import set_seed


@dataclass
class TrainConfig:
    """Arguments of ``python -m ranker train``; the defaults are the recipe."""

    data: str
    catalog: str
    out: str
    dev: str | None = None
    base_model: str | None = None  # default: the installed all-MiniLM-L6-v2
    epochs: int = 3
    max_examples: int | None = None
    max_tokens: int = 256
    max_messages: int | None = None  # 1 = last message only (no conversation context)
    seed: int = 13
    dev_fraction: float = 0.1
    max_dev_examples: int | None = 2000  # dev is for early stopping and calibration only
    batch_size: int = 32
    lr: float = 1e-4  # encoder
    head_lr_mult: float = 20.0
    weight_decay: float = 0.01
    warmup: float = 0.1  # fraction of steps
    label_smoothing: float = 0.0
    init: str = "prototype"  # or "random"
    scale: float = 20.0  # initial cosine-logit scale (learned)
    patience: int = 1  # epochs without dev-NLL improvement before stopping
    max_steps: int | None = None  # stop early (tests, smoke runs)
    # Train only the head over cached embeddings of the frozen encoder: seconds instead of
    # minutes, a little less accurate (the fast default model of `make run`).
    freeze_encoder: bool = False
    domain_adapt: bool = False
    dapt_epochs: int = 1
    dapt_lr: float = 5e-5
    dapt_max_texts: int | None = 20000
    target_precision: float = 0.9
    backend: str = "auto"  # auto or one of serving.BACKENDS, stored in the model dir
    threads: int | None = None  # torch intra-op threads for training (default: torch's)
    eval_batch_size: int = 64
    progress: bool = True


@dataclass
class Encoded:
    """Tokenised examples with label indices (-1 for free text or unknown keys)."""

    examples: list[Example]
    ids: list[list[int]]
    y: np.ndarray  # (n,) int64


def encode_examples(
    examples: list[Example], tokenizer: Any, labels: list[str], max_tokens: int
) -> Encoded:
    """Tokenise contexts and map template keys to label indices."""
    index = {k: i for i, k in enumerate(labels)}
    y = np.array([index.get(e.label, -1) if e.label else -1 for e in examples], dtype=np.int64)
    return Encoded(examples, tokenize(tokenizer, [e.context for e in examples], max_tokens), y)


def _subset(enc: Encoded, keep: np.ndarray) -> Encoded:
    idx = np.nonzero(keep)[0]
    return Encoded([enc.examples[i] for i in idx], [enc.ids[i] for i in idx], enc.y[idx])


def class_prototypes(
    model: TemplateClassifier,
    enc: Encoded,
    catalog: list[CatalogEntry],
    tokenizer: Any,
    batch_size: int,
    progress: bool,
) -> torch.Tensor:
    """Mean L2-normalised embedding per label; a label without examples uses its catalog text."""
    from tqdm.auto import tqdm as _tqdm

    from ranker.encoding import length_sorted_batches

    n_labels = len(catalog)
    hidden = model.head.weight.shape[1]
    sums = torch.zeros(n_labels, hidden)  # (labels, hidden)
    counts = torch.zeros(n_labels)
    model.eval()
    with torch.inference_mode():
        batches = list(length_sorted_batches(enc.ids, batch_size))
        for batch in _tqdm(batches, desc="prototypes", disable=not progress, leave=False):
            input_ids, mask = collate([enc.ids[i] for i in batch])
            emb = nn.functional.normalize(model.embed(input_ids, mask), dim=-1)  # (batch, hidden)
            y = torch.from_numpy(enc.y[batch])
            sums.index_add_(0, y, emb)
            counts.index_add_(0, y, torch.ones(len(batch)))
        missing = [i for i in range(n_labels) if counts[i] == 0]
        if missing:
            texts = [f"{catalog[i].title}. {catalog[i].body}" for i in missing]
            input_ids, mask = collate(tokenize(tokenizer, texts, 128))
            emb = nn.functional.normalize(model.embed(input_ids, mask), dim=-1)
            sums[missing] = emb
            counts[missing] = 1.0
    return sums / counts.unsqueeze(1)  # (labels, hidden)


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
    sched = _warmup_linear(opt, steps, cfg.warmup)
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
    return mlm.base_model  # type: ignore[no-any-return]


def dapt_texts(train_convs: list[Conversation], cfg: TrainConfig) -> list[str]:
    """The masked-LM stage's texts: distinct turn texts, shuffled by seed, capped."""
    texts = sorted({t.text for c in train_convs for t in c.turns})
    texts = [texts[i] for i in np.random.default_rng(cfg.seed).permutation(len(texts))]
    return texts[: cfg.dapt_max_texts]


def _warmup_linear(
    opt: torch.optim.Optimizer, steps: int, warmup: float
) -> torch.optim.lr_scheduler.LambdaLR:
    n_warm = max(1, int(steps * warmup))

    def f(step: int) -> float:
        if step < n_warm:
            return (step + 1) / n_warm
        return max(0.0, (steps - step) / max(1, steps - n_warm))

    return torch.optim.lr_scheduler.LambdaLR(opt, f)


def topk_accuracy(logits: np.ndarray, y: np.ndarray, k: int) -> float:
    """Share of rows whose label is among the ``k`` highest logits."""
    if len(y) == 0:
        return 0.0
    k = min(k, logits.shape[1])
    top = np.argpartition(-logits, k - 1, axis=1)[:, :k]
    return float((top == y[:, None]).any(axis=1).mean())


def load_examples(
    cfg: TrainConfig, tokenizer: Any
) -> tuple[list[Conversation], list[Example], list[Example]]:
    """Read the training data and build train/dev examples, split by conversation."""
    conversations = read_conversations(cfg.data)
    if cfg.dev:
        train_convs, dev_convs = conversations, read_conversations(cfg.dev)
    else:
        train_convs, dev_convs = split_conversations(conversations, cfg.dev_fraction, cfg.seed)
    train = list(iter_examples(train_convs, tokenizer, cfg.max_tokens, cfg.max_messages))
    dev = list(iter_examples(dev_convs, tokenizer, cfg.max_tokens, cfg.max_messages))
    train = cap_examples([e for e in train if e.label is not None], cfg.max_examples, cfg.seed)
    dev = cap_examples([e for e in dev if e.label is not None], cfg.max_dev_examples, cfg.seed)
    return train_convs, train, dev


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Train, calibrate and save a model directory at ``cfg.out``; returns the dev metrics."""
    t_start = time.perf_counter()
    set_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    base = cfg.base_model or default_base_model()
    tokenizer = load_tokenizer(base)
    catalog = read_catalog(cfg.catalog)
    labels = [c.key for c in catalog]
    train_convs, train_ex, dev_ex = load_examples(cfg, tokenizer)
    tr = encode_examples(train_ex, tokenizer, labels, cfg.max_tokens)
    tr = _subset(tr, tr.y >= 0)
    dev_all = encode_examples(dev_ex, tokenizer, labels, cfg.max_tokens)
    dev = _subset(dev_all, dev_all.y >= 0)
    if len(tr.y) == 0:
        raise ValueError("no training examples whose template is in the catalog")

    if cfg.domain_adapt:
        encoder = domain_adapt(base, dapt_texts(train_convs, cfg), cfg)
    else:
        encoder = load_encoder(base)
    model = TemplateClassifier(encoder, len(labels), cfg.scale)
    if cfg.init == "prototype":
        protos = class_prototypes(model, tr, catalog, tokenizer, cfg.eval_batch_size, cfg.progress)
        model.head.weight.data.copy_(protos)

    history = fit(model, tr, dev, cfg)
    logits = predict_logits(model, dev.ids, cfg.eval_batch_size, cfg.progress)  # (n_dev, labels)
    metrics, temperature, threshold = calibrate(logits, dev.y, cfg.target_precision)
    metrics["history"] = history
    metrics["n_train"] = len(tr.y)
    metrics["n_dev"] = len(dev.y)
    metrics["train_seconds"] = round(time.perf_counter() - t_start, 1)

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    calibration.reliability_diagram(logits, dev.y, temperature, out / "reliability.png")
    meta = ModelMeta(
        labels=labels,
        base_model=base,
        max_tokens=cfg.max_tokens,
        max_messages=cfg.max_messages,
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

        choice = choose_backend(out, dev.ids, dev.y, cfg.backend)
        meta.backend = choice["backend"]
        meta.metrics["backends"] = choice["measured"]
        meta.metrics["backend_threads"] = choice["threads"]
        meta.save(out)
    return meta.metrics


def fit(model: TemplateClassifier, tr: Encoded, dev: Encoded, cfg: TrainConfig) -> list[Any]:
    """Fine-tune in place; keeps the weights of the epoch with the best dev NLL."""
    if cfg.freeze_encoder:
        return fit_head(model, tr, dev, cfg)
    head_params = list(model.head.parameters())
    enc_decay = [p for n, p in model.encoder.named_parameters() if not _no_decay(n)]
    enc_nodecay = [p for n, p in model.encoder.named_parameters() if _no_decay(n)]
    opt = torch.optim.AdamW(
        [
            {"params": enc_decay, "lr": cfg.lr, "weight_decay": cfg.weight_decay},
            {"params": enc_nodecay, "lr": cfg.lr, "weight_decay": 0.0},
            {"params": head_params, "lr": cfg.lr * cfg.head_lr_mult, "weight_decay": 0.0},
        ],
        fused=True,  # one kernel per step instead of a Python loop over tensors
    )
    steps_per_epoch = math.ceil(len(tr.y) / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    sched = _warmup_linear(opt, total, cfg.warmup)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    rng = np.random.default_rng(cfg.seed)
    best_nll, best_state, bad, step = math.inf, None, 0, 0
    history: list[Any] = []
    for epoch in range(cfg.epochs):
        model.train()
        bar = tqdm(
            bucketed_batches(tr.ids, cfg.batch_size, rng),
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            disable=not cfg.progress,
        )
        running = 0.0
        for i, batch in enumerate(bar):
            input_ids, mask = collate([tr.ids[j] for j in batch])  # (batch, seq)
            y = torch.from_numpy(tr.y[batch])  # (batch,)
            loss = loss_fn(model(input_ids, mask), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            running = 0.98 * running + 0.02 * loss.item() if i else loss.item()
            bar.set_postfix(loss=f"{running:.3f}")
            if step >= total:
                break
        bar.close()
        entry: dict[str, Any] = {"epoch": epoch + 1, "step": step, "train_loss": running}
        if len(dev.y):
            logits = predict_logits(model, dev.ids, cfg.eval_batch_size, cfg.progress)
            entry["dev_nll"] = calibration.nll(logits, dev.y)
            entry["dev_top1"] = topk_accuracy(logits, dev.y, 1)
        history.append(entry)
        if cfg.progress:
            tqdm.write(f"epoch {epoch + 1}: {entry}")
        nll = entry.get("dev_nll", -float(epoch))
        if nll < best_nll:
            best_nll, bad = nll, 0
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


def fit_head(model: TemplateClassifier, tr: Encoded, dev: Encoded, cfg: TrainConfig) -> list[Any]:
    """Train the head alone on embeddings computed once; the encoder stays as it was."""
    from ranker.encoding import length_sorted_batches

    def embed_all(ids: list[list[int]]) -> torch.Tensor:
        out = torch.zeros(len(ids), model.head.weight.shape[1])  # (n, hidden)
        model.eval()
        with torch.inference_mode():
            for batch in length_sorted_batches(ids, cfg.eval_batch_size):
                input_ids, mask = collate([ids[i] for i in batch])
                out[batch] = model.embed(input_ids, mask)
        return out.clone()  # a normal tensor, usable with autograd below

    x_tr, y_tr = embed_all(tr.ids), torch.from_numpy(tr.y)
    x_dev, y_dev = embed_all(dev.ids), dev.y
    opt = torch.optim.AdamW(model.head.parameters(), lr=cfg.lr * cfg.head_lr_mult)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    generator = torch.Generator().manual_seed(cfg.seed)
    history: list[Any] = []
    best_nll, best_state, bad = math.inf, None, 0
    model.head.train()
    for epoch in tqdm(range(cfg.epochs), desc="head", disable=not cfg.progress):
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
            entry["dev_nll"] = calibration.nll(logits, y_dev)
            entry["dev_top1"] = topk_accuracy(logits, y_dev, 1)
        history.append(entry)
        nll = entry.get("dev_nll", -float(epoch))
        if nll < best_nll:
            best_nll, bad = nll, 0
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
    logits: np.ndarray, y: np.ndarray, target_precision: float
) -> tuple[dict[str, Any], float, float]:
    """Fit the temperature and the confidence threshold on dev; return (metrics, T, threshold)."""
    temperature = calibration.fit_temperature(logits, y)
    before = calibration.report(logits, y, 1.0)
    after = calibration.report(logits, y, temperature)
    probs = softmax(logits.astype(np.float64) / temperature, axis=-1)
    threshold = calibration.choose_threshold(
        probs.max(axis=-1), probs.argmax(axis=-1) == y, target_precision
    )
    metrics: dict[str, Any] = {
        "dev_top1": topk_accuracy(logits, y, 1),
        "dev_top3": topk_accuracy(logits, y, 3),
        "dev_top5": topk_accuracy(logits, y, 5),
        "temperature": temperature,
        "threshold": threshold,
        "calibration_before": asdict(before),
        "calibration_after": asdict(after),
    }
    return metrics, temperature, threshold
