"""Running the study: the train/validation split, then for each member not yet done training
(:func:`ranker.train.train`), validating and timing it, then the report. See :mod:`ranker.scaling`
for the output directory.
"""

from __future__ import annotations

import gc
import io
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from ranker.base_models import resolve_base_model
from ranker.data import (
    Conversation,
    cap_examples,
    iter_examples,
    read_catalog,
    read_conversations,
    split_conversations,
)
from ranker.encoding import tokenize
from ranker.metrics import nll, topk_accuracy
from ranker.model import as_pretrained, load_tokenizer
from ranker.scaling.config import RESUMABLE_CHANGES, ScalingConfig
from ranker.scaling.family import (
    Member,
    TokenCounts,
    build_encoder,
    encoder_depth,
    param_counts,
    plan_members,
    training_flops,
)
from ranker.scaling.fit import latency_column
from ranker.scaling.latency import member_latency, parse_rps
from ranker.scaling.report import LATENCY_KEYS, write_report
from ranker.train import TrainConfig, dapt_texts, encode_examples, load_examples, train
from ranker.utils import write_json_atomic, write_text_atomic

if TYPE_CHECKING:
    from ranker.serving import Ranker

MLM_MAX_TOKENS = 128  # what ranker.train.domain_adapt truncates its texts to


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


def count_tokens(tcfg: TrainConfig, tokenizer: Any, labels: list[str]) -> TokenCounts:
    """Read the data as :func:`ranker.train.train` does and count the tokens it trains on."""
    train_convs, train_ex, _ = load_examples(tcfg, tokenizer)
    enc = encode_examples(train_ex, tokenizer, labels, tcfg.max_tokens, tcfg.context_format)
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


def validate(ranker: Ranker, val: ValidationSet, progress: bool = False) -> dict[str, float]:
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
        "val_loss": nll(raw, val.y),
        "val_nll_calibrated": nll(z, val.y),
        "top1": topk_accuracy(raw, val.y, 1),
        "top5": topk_accuracy(raw, val.y, 5),
        "n_val": len(val.y),
    }


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
    as_pretrained(encoder).save_pretrained(run_dir / "base")
    load_tokenizer(member.source(base)).save_pretrained(run_dir / "base")
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
    members = plan_members(cfg)
    parse_rps(cfg.rps)  # a bad --rps fails now, not after the members have trained
    base = resolve_base_model(cfg.base_model)
    tokenizer = load_tokenizer(base)  # also forbids downloads from here on
    depth = encoder_depth(base)
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
