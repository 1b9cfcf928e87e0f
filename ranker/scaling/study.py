"""Scaling study: validation loss, accuracy and latency against model size and training compute.

The analysis of Wyatte et al. (2024) on the team's own data. A *family* of encoders is trained
with the ordinary recipe (:func:`ranker.train.train`), with and without domain-adaptive MLM:

- the base model (all-MiniLM-L6-v2 by default) truncated to its first N transformer layers
  (``--layers 1,2,3,4,6``): pretrained, same width;
- narrower BERT configurations initialised from scratch (``--scratch 128x2,256x4``: hidden size x
  layers) with the base model's vocabulary and tokenizer.

Each member is validated on held-out conversations (validation loss = NLL of the uncalibrated
logits, the training objective; top-1, top-5), and timed under open-loop Poisson load against
``Ranker.rank`` at each rate of ``--rps``. Output directory::

    OUT/study.json            the configuration (a resumed run must match it)
    OUT/data/                 the train/validation split (when no --dev is given)
    OUT/runs/NAME/            base/ (the member's initial encoder), model/ (its model directory),
                              result.json (written last, atomically; a member with one is skipped)
    OUT/latency/ARCH.json     latency of an architecture (DAPT on and off share it: same compute)
    OUT/scaling.csv           one row per member
    OUT/power_law.json        L(N) = a * N^-alpha + c per DAPT mode, with R^2, RMSE and the points
    OUT/recommendation.json   the most accurate member within the latency budget, and why
    OUT/*.png                 loss/accuracy vs parameters and FLOPs; latency vs accuracy

This module trains, validates and times the members; :mod:`ranker.scaling_fit` fits the power law
and picks the recommendation; :mod:`ranker.scaling_report` writes the report files.
"""

from __future__ import annotations

import gc
import io
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ranker import calibration
from ranker.data import (
    Conversation,
    cap_examples,
    iter_examples,
    read_catalog,
    read_conversations,
    split_conversations,
)
from ranker.encoding import tokenize
from ranker.model import default_base_model, load_encoder, load_tokenizer
from ranker.scaling_fit import latency_column, rps_label
from ranker.scaling_report import LATENCY_KEYS, write_report
from ranker.train import (
    TrainConfig,
    dapt_texts,
    encode_examples,
    load_examples,
    topk_accuracy,
    train,
)
from ranker.utils import set_seed, write_json_atomic, write_text_atomic


@dataclass
class ScalingConfig:
    """Arguments of ``python -m ranker scaling``."""

    data: str
    catalog: str
    out: str
    dev: str | None = None  # validation conversations; default: val_fraction of --data held out
    base_model: str | None = None  # the model to truncate; default: the installed MiniLM
    layers: str = "1,2,3,4,6"  # truncations of the base model: keep its first N layers
    scratch: str = "128x2,256x4"  # HIDDENxLAYERS BERTs initialised from scratch ("" for none)
    domain_adapt: str = "off,on"  # with and/or without the domain-adaptive MLM stage
    max_examples: int | None = None  # training examples per member
    max_val_examples: int | None = 1000
    max_dev_examples: int | None = 500  # train()'s own dev split: early stopping, temperature
    val_fraction: float = 0.1
    max_tokens: int = 256
    epochs: int = 1  # one epoch was best in the paper
    batch_size: int = 32
    lr: float = 1e-4  # pretrained members (the recipe's default)
    scratch_lr: float = 1e-3  # scratch members, fine-tuning and MLM alike
    dapt_epochs: int = 1
    dapt_max_texts: int | None = 20000
    max_steps: int | None = None  # cap on fine-tuning steps per member (tests, smoke runs)
    seed: int = 13
    rps: str = "1,5,20"  # request rates of the latency measurement
    latency_seconds: float = 30.0  # arrivals per rate; queued requests then run to completion
    budget_ms: float = 100.0  # p99 budget at the highest rate, for the recommendation
    backend: str = "fp32"  # serving backend for validation and latency (see ranker.serving)
    threads: int = 1  # torch threads for training and serving
    fit_on: str = "truncated"  # members in the power-law fit: "truncated" or "all"
    progress: bool = True


# Fields that may differ when a study is resumed: they choose members or re-draw the report,
# and change no member's result.
RESUMABLE_CHANGES = frozenset(
    {"out", "layers", "scratch", "domain_adapt", "budget_ms", "fit_on", "progress"}
)
MLM_MAX_TOKENS = 128  # what ranker.train.domain_adapt truncates its texts to


@dataclass(frozen=True)
class Member:
    """One model of the family."""

    family: str  # "truncated" (pretrained, first N layers) or "scratch"
    layers: int
    hidden: int | None  # scratch only; truncated members keep the base model's width
    domain_adapt: bool

    @property
    def arch(self) -> str:
        """The architecture's name; members that differ only in DAPT share it (and latency)."""
        if self.family == "truncated":
            return f"L{self.layers}"
        return f"scratch-{self.hidden}x{self.layers}"

    @property
    def name(self) -> str:
        """Unique name: the architecture, ``-dapt`` when domain-adapted."""
        return self.arch + ("-dapt" if self.domain_adapt else "")


def _csv_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_rps(text: str) -> list[float]:
    """``"1,5,20"`` -> ``[1.0, 5.0, 20.0]``."""
    rates = [float(x) for x in _csv_list(text)]
    if any(r <= 0 for r in rates):
        raise ValueError(f"request rates must be positive: {text!r}")
    return rates


def plan_members(cfg: ScalingConfig) -> list[Member]:
    """The family in training order: every size without DAPT first, then with it.

    Without-DAPT first, so that an interrupted study has the main curve before the variants.
    """
    modes = {"off": False, "on": True}
    wanted = _csv_list(cfg.domain_adapt)
    if not wanted or any(m not in modes for m in wanted):
        raise ValueError(f"--domain-adapt takes 'off', 'on' or 'off,on', not {cfg.domain_adapt!r}")
    shapes: list[tuple[str, int, int | None]] = [
        ("truncated", int(n), None) for n in _csv_list(cfg.layers)
    ]
    for spec in _csv_list(cfg.scratch):
        hidden, sep, layers = spec.lower().partition("x")
        if not sep or not hidden.isdigit() or not layers.isdigit():
            raise ValueError(f"--scratch wants HIDDENxLAYERS items such as 128x2, not {spec!r}")
        shapes.append(("scratch", int(layers), int(hidden)))
    if any(layers < 1 or (hidden is not None and hidden < 1) for _, layers, hidden in shapes):
        raise ValueError("layer counts and hidden sizes must be at least 1")
    members = [
        Member(family, layers, hidden, modes[mode])
        for mode in sorted(set(wanted), key=["off", "on"].index)
        for family, layers, hidden in shapes
    ]
    if len({m.name for m in members}) != len(members):
        raise ValueError("the family lists the same member twice")
    return members


# ----- building the encoders -----


def truncated_encoder(base: str, n_layers: int) -> torch.nn.Module:
    """The encoder of ``base`` keeping only its first ``n_layers`` transformer layers."""
    encoder: Any = load_encoder(base)
    layers = encoder.encoder.layer
    if not 1 <= n_layers <= len(layers):
        raise ValueError(f"{base} has {len(layers)} layers; cannot keep {n_layers}")
    encoder.encoder.layer = torch.nn.ModuleList(list(layers)[:n_layers])
    encoder.config.num_hidden_layers = n_layers  # so that save/load rebuilds n_layers layers
    return encoder  # type: ignore[no-any-return]


def scratch_encoder(base: str, hidden: int, n_layers: int, seed: int) -> torch.nn.Module:
    """A randomly initialised encoder of ``base``'s kind and vocabulary, ``hidden`` wide."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(base)
    config.hidden_size = hidden
    config.num_hidden_layers = n_layers
    config.num_attention_heads = max(1, hidden // 64)  # BERT's head size of 64
    config.intermediate_size = 4 * hidden
    set_seed(seed)
    encoder: torch.nn.Module = AutoModel.from_config(config)  # type: ignore[no-untyped-call]
    return encoder


def build_encoder(member: Member, base: str, seed: int) -> torch.nn.Module:
    """The member's encoder before any training."""
    if member.family == "truncated":
        return truncated_encoder(base, member.layers)
    assert member.hidden is not None
    return scratch_encoder(base, member.hidden, member.layers, seed)


def param_counts(encoder: torch.nn.Module, n_labels: int) -> dict[str, int]:
    """Parameters of the classifier built on ``encoder``.

    ``non_embedding``: the transformer layers (N of the scaling laws); ``embedding``: token,
    position and type embeddings with their LayerNorm; ``total`` adds the cosine head. BERT's
    pooler is left out: mean pooling never runs it, and DAPT's MLM model drops it.
    """
    enc: Any = encoder
    embedding = sum(p.numel() for p in enc.embeddings.parameters())
    non_embedding = sum(p.numel() for p in enc.encoder.parameters())
    hidden = int(enc.config.hidden_size)
    head = n_labels * hidden + n_labels + 1  # prototypes, biases, log-scale
    return {
        "params_total": embedding + non_embedding + head,
        "params_embedding": embedding,
        "params_non_embedding": non_embedding,
        "hidden": hidden,
        "vocab_size": int(enc.config.vocab_size),
    }


# ----- data -----


def _write_conversations(convs: Sequence[Conversation], path: Path) -> None:
    buf = io.StringIO()
    for c in convs:
        turns = [{"role": t.role, "text": t.text, "template": t.template} for t in c.turns]
        buf.write(json.dumps({"id": c.id, "turns": turns}, ensure_ascii=False) + "\n")
    write_text_atomic(path, buf.getvalue())


def prepare_splits(cfg: ScalingConfig, out: Path) -> tuple[str, list[Conversation]]:
    """(training file, validation conversations): --dev, or a seeded split by conversation."""
    if cfg.dev:
        return cfg.data, read_conversations(cfg.dev)
    train_path, val_path = out / "data" / "train.jsonl", out / "data" / "val.jsonl"
    if not (train_path.exists() and val_path.exists()):
        train_convs, val_convs = split_conversations(
            read_conversations(cfg.data), cfg.val_fraction, cfg.seed
        )
        train_path.parent.mkdir(parents=True, exist_ok=True)
        _write_conversations(train_convs, train_path)
        _write_conversations(val_convs, val_path)
    return str(train_path), read_conversations(val_path)


@dataclass(frozen=True)
class ValidationSet:
    """Validation contexts and label indices (catalog order)."""

    contexts: list[str]
    y: np.ndarray  # (n,) int64


def validation_set(
    convs: list[Conversation], tokenizer: Any, labels: list[str], cfg: ScalingConfig
) -> ValidationSet:
    """Agent turns whose template is in the catalog, capped at ``max_val_examples``.

    Every member shares the base model's tokenizer, so the contexts are built once.
    """
    index = {k: i for i, k in enumerate(labels)}
    examples = [e for e in iter_examples(convs, tokenizer, cfg.max_tokens) if e.label in index]
    examples = cap_examples(examples, cfg.max_val_examples, cfg.seed)
    if not examples:
        raise ValueError("no validation turn has a template of the catalog")
    y = np.array([index[str(e.label)] for e in examples], dtype=np.int64)
    return ValidationSet([e.context for e in examples], y)


@dataclass(frozen=True)
class TokenCounts:
    """Tokens one member's training processes (the same for every member: one tokenizer)."""

    per_epoch: int  # non-padding tokens of the fine-tuning examples
    steps_per_epoch: int
    dapt: int  # non-padding tokens of the MLM stage, all its epochs


def count_tokens(tcfg: TrainConfig, tokenizer: Any, labels: list[str]) -> TokenCounts:
    """Read the data as :func:`ranker.train.train` does and count the tokens it trains on."""
    train_convs, train_ex, _ = load_examples(tcfg, tokenizer)
    enc = encode_examples(train_ex, tokenizer, labels, tcfg.max_tokens)
    lengths = [len(ids) for ids, y in zip(enc.ids, enc.y, strict=True) if y >= 0]
    texts = dapt_texts(train_convs, tcfg)
    dapt = sum(len(ids) for ids in tokenize(tokenizer, texts, MLM_MAX_TOKENS)) * tcfg.dapt_epochs
    return TokenCounts(sum(lengths), max(1, math.ceil(len(lengths) / tcfg.batch_size)), dapt)


# ----- one member -----


def member_train_config(
    cfg: ScalingConfig, member: Member, train_path: str, run_dir: Path
) -> TrainConfig:
    """The training arguments of one member: the recipe, with the study's data settings."""
    scratch = member.family == "scratch"
    # A random encoder learns next to nothing in one epoch at the fine-tuning rate that suits a
    # pretrained one; scratch members use scratch_lr and the head multiplier of the tiny test
    # models (tests/tiny_models.py), for the MLM stage as well.
    lr = cfg.scratch_lr if scratch else cfg.lr
    return TrainConfig(
        data=train_path,
        catalog=cfg.catalog,
        out=str(run_dir / "model"),
        base_model=str(run_dir / "base"),
        epochs=cfg.epochs,
        max_examples=cfg.max_examples,
        max_tokens=cfg.max_tokens,
        seed=cfg.seed,
        max_dev_examples=cfg.max_dev_examples,
        batch_size=cfg.batch_size,
        lr=lr,
        head_lr_mult=5.0 if scratch else TrainConfig.head_lr_mult,
        domain_adapt=member.domain_adapt,
        dapt_epochs=cfg.dapt_epochs,
        dapt_lr=lr if scratch else TrainConfig.dapt_lr,
        dapt_max_texts=cfg.dapt_max_texts,
        max_steps=cfg.max_steps,
        backend="fp32",  # the study times cfg.backend itself; no backend search per member
        threads=cfg.threads,
        progress=cfg.progress,
    )


def training_flops(
    counts: dict[str, int], tokens: TokenCounts, steps: int, dapt: bool
) -> dict[str, float]:
    """Training compute, estimated as in Kaplan et al. (2020): 6 x N x tokens processed.

    N is the non-embedding parameter count (forward 2N and backward 4N multiply-adds per token);
    embedding look-ups, attention's sequence-length term and the head (one row per sequence, not
    per token) are left out. Fine-tuning tokens are the non-padding tokens of the steps actually
    run. The MLM stage also runs its prediction head (a hidden x hidden transform and the
    hidden x vocab decoder) on every token, so its N includes that head.
    """
    n = counts["params_non_embedding"]
    train_tokens = tokens.per_epoch * steps / tokens.steps_per_epoch
    dapt_tokens = tokens.dapt if dapt else 0
    mlm_head = counts["hidden"] * (counts["hidden"] + counts["vocab_size"])
    train_flops = 6.0 * n * train_tokens
    dapt_flops = 6.0 * (n + mlm_head) * dapt_tokens
    return {
        "train_tokens": train_tokens,
        "dapt_tokens": dapt_tokens,
        "train_flops": train_flops,
        "dapt_flops": dapt_flops,
        "flops": train_flops + dapt_flops,
    }


def validate(ranker: Any, val: ValidationSet, progress: bool = False) -> dict[str, float]:
    """Validation loss (NLL of the uncalibrated logits), calibrated NLL, top-1 and top-5."""
    chunk = 256
    parts = [
        ranker.logits(val.contexts[i : i + chunk])
        for i in tqdm(
            range(0, len(val.contexts), chunk), desc="validate", disable=not progress, leave=False
        )
    ]
    z = np.concatenate(parts).astype(np.float64)  # (n, labels), divided by the temperature
    raw = z * ranker.temperature  # (n, labels), as trained
    return {
        "val_loss": calibration.nll(raw, val.y),
        "val_nll_calibrated": calibration.nll(z, val.y),
        "top1": topk_accuracy(raw, val.y, 1),
        "top5": topk_accuracy(raw, val.y, 5),
        "n_val": len(val.y),
    }


def open_loop_latency(
    call: Callable[[int], object],
    rps: float,
    seconds: float,
    seed: int = 0,
    max_wall_factor: float = 3.0,
) -> dict[str, Any]:
    """Latency of ``call`` under open-loop Poisson arrivals at ``rps`` for ``seconds``.

    Arrival times are drawn in advance and never wait for completions (open loop), and one server
    takes requests in arrival order, as a serving process does (``Ranker`` serialises its calls):
    each latency is completion time minus scheduled arrival, queueing delay included. If the
    backlog has not cleared ``max_wall_factor * seconds`` after the start, the requests not yet
    started count with the time they have waited (a lower bound) and ``saturated`` is true.
    """
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rps, size=int(rps * seconds * 2) + 50)
    arrivals = np.cumsum(gaps)
    arrivals = arrivals[arrivals < seconds]
    latencies: list[float] = []
    busy = 0.0
    start = time.perf_counter()
    saturated = False
    for i, arrival in enumerate(arrivals):
        now = time.perf_counter() - start
        if now < arrival:
            time.sleep(arrival - now)
        elif now > max_wall_factor * seconds:
            saturated = True
            latencies += [now - a for a in arrivals[i:]]
            break
        t = time.perf_counter()
        call(i)
        done = time.perf_counter()
        busy += done - t
        latencies.append(done - start - arrival)
    elapsed = time.perf_counter() - start
    ms = 1000 * np.asarray(latencies)
    return {
        "rps": rps,
        "seconds": seconds,
        "requests": len(arrivals),
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else None,
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else None,
        "mean_ms": float(ms.mean()) if len(ms) else None,
        "utilisation": busy / elapsed if elapsed > 0 else 0.0,
        "saturated": saturated,
    }


def member_latency(
    cfg: ScalingConfig, ranker: Any, contexts: list[str], progress: bool = False
) -> dict[str, dict[str, Any]]:
    """``open_loop_latency`` of ``ranker.rank([context], k=5)`` at each of ``cfg.rps``.

    Contexts are validation contexts in a seeded random order, so request lengths follow the
    data's.
    """
    order = np.random.default_rng(cfg.seed).permutation(len(contexts))

    def call(i: int) -> object:
        return ranker.rank([contexts[order[i % len(order)]]], k=5)

    for i in range(3):  # warm-up: first calls pay for allocations and lazy initialisation
        call(i)
    rates = parse_rps(cfg.rps)
    out: dict[str, dict[str, Any]] = {}
    for rps in tqdm(rates, desc="latency", disable=not progress, leave=False):
        out[rps_label(rps)] = open_loop_latency(call, rps, cfg.latency_seconds, seed=cfg.seed)
    return out


def run_member(
    cfg: ScalingConfig,
    member: Member,
    base: str,
    train_path: str,
    labels: list[str],
    val: ValidationSet,
    tokens: TokenCounts,
    out: Path,
) -> dict[str, Any]:
    """Build, train, validate and time one member; returns its result (not yet written)."""
    from ranker.serving import Ranker

    run_dir = out / "runs" / member.name
    encoder = build_encoder(member, base, seed=cfg.seed)
    counts = param_counts(encoder, len(labels))
    encoder.save_pretrained(run_dir / "base")  # type: ignore[operator]
    load_tokenizer(base).save_pretrained(run_dir / "base")
    del encoder
    tcfg = member_train_config(cfg, member, train_path, run_dir)
    metrics = train(tcfg)
    steps = int(metrics["history"][-1]["step"])
    row: dict[str, Any] = {
        "name": member.name,
        "family": member.family,
        "layers": member.layers,
        "domain_adapt": member.domain_adapt,
        **counts,
        **training_flops(counts, tokens, steps, member.domain_adapt),
        "train_steps": steps,
        "n_train": metrics["n_train"],
        "train_seconds": metrics["train_seconds"],
        "temperature": metrics["temperature"],
    }
    ranker = Ranker(tcfg.out, backend=cfg.backend, threads=cfg.threads)
    row.update(validate(ranker, val, cfg.progress))

    # DAPT changes the weights, not the computation: members of one architecture share a
    # latency measurement (and the study its time).
    cache = out / "latency" / f"{member.arch}.json"
    if cache.exists():
        timing = json.loads(cache.read_text("utf-8"))
    else:
        timing = {
            "measured_by": member.name,
            "backend": cfg.backend,
            "threads": cfg.threads,
            "rates": member_latency(cfg, ranker, val.contexts, cfg.progress),
        }
        write_json_atomic(cache, timing)
    row["latency_from"] = timing["measured_by"]
    for label, m in timing["rates"].items():
        for key in LATENCY_KEYS:
            row[latency_column(key, label)] = m[key]
    del ranker
    gc.collect()
    return {**row, "latency": timing, "history": metrics["history"], "train_config": asdict(tcfg)}


# ----- the study -----


def _check_resume(cfg: ScalingConfig, out: Path) -> None:
    """Refuse to mix results of different settings in one directory."""
    path = out / "study.json"
    current = {k: v for k, v in asdict(cfg).items() if k not in RESUMABLE_CHANGES}
    if path.exists():
        before = json.loads(path.read_text("utf-8"))
        changed = sorted(k for k in current if before.get(k) != current[k])
        if changed:
            detail = ", ".join(f"{k}: {before.get(k)!r} -> {current[k]!r}" for k in changed)
            raise ValueError(
                f"{out} holds a study with other settings ({detail}); resume with the same "
                "settings or use another --out"
            )
    write_json_atomic(path, current)


def load_study_config(out: Path) -> ScalingConfig:
    """The settings of the study in ``out``, from its ``study.json`` (for tools that read it)."""
    saved = json.loads((out / "study.json").read_text("utf-8"))
    return ScalingConfig(**saved, out=str(out))


def run_study(cfg: ScalingConfig) -> dict[str, Any]:
    """Train, validate and time every member not yet done, then write the report.

    A member whose ``runs/NAME/result.json`` exists is skipped, so an interrupted study resumes
    where it stopped (the member being trained then starts again).
    """
    from transformers import AutoConfig

    members = plan_members(cfg)
    parse_rps(cfg.rps)  # a bad --rps fails now, not after the members have trained
    base = cfg.base_model or default_base_model()
    tokenizer = load_tokenizer(base)  # also forbids downloads from here on
    depth = int(AutoConfig.from_pretrained(base).num_hidden_layers)
    too_deep = [m.name for m in members if m.family == "truncated" and m.layers > depth]
    if too_deep:  # found now, not after hours of training the members before them
        raise ValueError(f"{base} has {depth} layers; cannot truncate to {', '.join(too_deep)}")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    _check_resume(cfg, out)
    labels = [c.key for c in read_catalog(cfg.catalog)]
    train_path, val_convs = prepare_splits(cfg, out)
    val = validation_set(val_convs, tokenizer, labels, cfg)
    tokens: TokenCounts | None = None
    results: list[dict[str, Any]] = []
    bar = tqdm(members, desc="scaling study", unit="model", disable=not cfg.progress)
    for member in bar:
        bar.set_postfix(model=member.name)
        path = out / "runs" / member.name / "result.json"
        if path.exists():
            tqdm.write(f"{member.name}: result found, skipped", file=sys.stderr)
            results.append(json.loads(path.read_text("utf-8")))
            continue
        if tokens is None:  # every member reads the same data: count its tokens once
            tcfg = member_train_config(cfg, member, train_path, out)
            tokens = count_tokens(tcfg, tokenizer, labels)
        result = run_member(cfg, member, base, train_path, labels, val, tokens, out)
        write_json_atomic(path, result)
        results.append(result)
        tqdm.write(
            f"{member.name}: val loss {result['val_loss']:.3f}, top-1 {result['top1']:.3f}, "
            f"top-5 {result['top5']:.3f}, {result['train_seconds']:.0f} s",
            file=sys.stderr,
        )
    bar.close()
    return write_report(
        results, out, rates=parse_rps(cfg.rps), budget_ms=cfg.budget_ms, fit_on=cfg.fit_on
    )
