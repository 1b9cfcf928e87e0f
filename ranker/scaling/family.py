"""The study's family of encoders: which members, how they are built, their size and compute."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ranker.base_models import resolve_base_model
from ranker.model import load_encoder
from ranker.scaling.config import ScalingConfig, csv_items
from ranker.utils import set_seed


@dataclass(frozen=True)
class Member:
    """One model of the family."""

    family: str  # "truncated" (the base, first N layers), "scratch" or "pretrained" (whole)
    layers: int
    hidden: int | None  # scratch only; truncated members keep the base model's width
    domain_adapt: bool
    model: str | None = None  # pretrained only: a name of ranker/base_models.py or a folder

    @property
    def arch(self) -> str:
        """The architecture's name; members that differ only in DAPT share it (and latency)."""
        if self.family == "truncated":
            return f"L{self.layers}"
        if self.family == "pretrained":
            return Path(str(self.model)).name
        return f"scratch-{self.hidden}x{self.layers}"

    def source(self, base: str) -> str:
        """The folder this member's encoder and tokenizer come from (``base``: the study's)."""
        return resolve_base_model(self.model) if self.family == "pretrained" else base

    @property
    def name(self) -> str:
        """Unique name: the architecture, ``-dapt`` when domain-adapted."""
        return self.arch + ("-dapt" if self.domain_adapt else "")


def plan_members(cfg: ScalingConfig) -> list[Member]:
    """The family in training order: every size without DAPT first, then with it.

    Without-DAPT first, so that an interrupted study has the main curve before the variants.
    """
    modes = {"off": False, "on": True}
    wanted = csv_items(cfg.domain_adapt)
    if not wanted or any(m not in modes for m in wanted):
        raise ValueError(f"--domain-adapt takes 'off', 'on' or 'off,on', not {cfg.domain_adapt!r}")
    shapes: list[tuple[str, int, int | None]] = [
        ("truncated", int(n), None) for n in csv_items(cfg.layers)
    ]
    for spec in csv_items(cfg.scratch):
        hidden, sep, layers = spec.lower().partition("x")
        if not sep or not hidden.isdigit() or not layers.isdigit():
            raise ValueError(f"--scratch wants HIDDENxLAYERS items such as 128x2, not {spec!r}")
        shapes.append(("scratch", int(layers), int(hidden)))
    if any(layers < 1 or (hidden is not None and hidden < 1) for _, layers, hidden in shapes):
        raise ValueError("layer counts and hidden sizes must be at least 1")
    larger = [(name, encoder_depth(resolve_base_model(name))) for name in csv_items(cfg.larger)]
    members = []
    for mode in sorted(set(wanted), key=["off", "on"].index):
        members += [Member(family, n, hidden, modes[mode]) for family, n, hidden in shapes]
        members += [Member("pretrained", n, None, modes[mode], model=m) for m, n in larger]
    if len({m.name for m in members}) != len(members):
        raise ValueError("the family lists the same member twice")
    return members


def encoder_depth(model_dir: str) -> int:
    """The number of transformer layers of the encoder in ``model_dir``."""
    from transformers import AutoConfig

    return int(AutoConfig.from_pretrained(model_dir).num_hidden_layers)


def truncated_encoder(base: str, n_layers: int) -> torch.nn.Module:
    """The encoder of ``base`` keeping only its first ``n_layers`` transformer layers."""
    encoder = load_encoder(base)
    bert: Any = encoder  # BERT's layout: encoder.layer holds the transformer layers
    layers = bert.encoder.layer
    if not 1 <= n_layers <= len(layers):
        raise ValueError(f"{base} has {len(layers)} layers; cannot keep {n_layers}")
    bert.encoder.layer = torch.nn.ModuleList(list(layers)[:n_layers])
    bert.config.num_hidden_layers = n_layers  # so that save/load rebuilds n_layers layers
    return encoder


def scratch_encoder(base: str, hidden: int, n_layers: int, seed: int) -> torch.nn.Module:
    """A randomly initialised encoder of ``base``'s kind and vocabulary, ``hidden`` wide."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(base)
    config.hidden_size = hidden
    config.num_hidden_layers = n_layers
    config.num_attention_heads = max(1, hidden // 64)  # BERT's head size of 64
    config.intermediate_size = 4 * hidden
    set_seed(seed)
    # transformers' AutoModel.from_config carries no annotations.
    encoder: torch.nn.Module = AutoModel.from_config(config)  # type: ignore[no-untyped-call]
    return encoder


def build_encoder(member: Member, base: str, seed: int) -> torch.nn.Module:
    """The member's encoder before any training."""
    if member.family == "truncated":
        return truncated_encoder(base, member.layers)
    if member.family == "pretrained":
        return load_encoder(member.source(base))
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


@dataclass(frozen=True)
class TokenCounts:
    """Tokens one member's training processes (the same for every member: one tokenizer)."""

    per_epoch: int  # non-padding tokens of the fine-tuning examples
    steps_per_epoch: int
    dapt: int  # non-padding tokens of the MLM stage, all its epochs


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
