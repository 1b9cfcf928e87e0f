"""The scaling study's settings: the arguments of ``python -m ranker scaling``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ScalingConfig:
    """Arguments of ``python -m ranker scaling``."""

    data: str = field(metadata={"help": "training conversations (JSONL)"})
    catalog: str = field(metadata={"help": "template catalog (CSV: key,title,body,category)"})
    out: str = field(metadata={"help": "study directory (a rerun with the same settings resumes)"})
    dev: str | None = field(
        default=None,
        metadata={"help": "validation conversations; default: --val-fraction of --data held out"},
    )
    base_model: str | None = field(
        default=None,
        metadata={"help": "the model to truncate; default: the installed all-MiniLM-L6-v2"},
    )
    layers: str = field(
        default="1,2,3,4,6",
        metadata={"help": "truncations of the base model: keep its first N layers (comma list)"},
    )
    scratch: str = field(
        default="128x2,256x4",
        metadata={"help": "HIDDENxLAYERS BERTs initialised from scratch (comma list; '' for none)"},
    )
    larger: str = field(
        default="",
        metadata={
            "help": "whole pretrained encoders larger than the base, as members (comma list of "
            "names from ranker/base_models.py or folders): e.g. all-mpnet-base-v2, 12 layers "
            "768 wide, with requirements-large.txt"
        },
    )
    domain_adapt: str = field(
        default="off,on",
        metadata={"help": "without ('off') and/or with ('on') the domain-adaptive MLM stage"},
    )
    max_examples: int | None = field(
        default=None, metadata={"help": "training examples per member (seeded sample)"}
    )
    max_val_examples: int | None = field(
        default=1000, metadata={"help": "validation examples (seeded sample)"}
    )
    max_dev_examples: int | None = field(
        default=500,
        metadata={"help": "each member's own dev split: early stopping and temperature"},
    )
    val_fraction: float = field(
        default=0.1, metadata={"help": "share of conversations held out for validation"}
    )
    max_tokens: int = field(default=96, metadata={"help": "token budget of a context"})
    epochs: int = field(
        default=1, metadata={"help": "fine-tuning epochs (one was best in the paper)"}
    )
    batch_size: int = field(default=32, metadata={"help": "training batch size"})
    lr: float = field(
        default=1e-4, metadata={"help": "learning rate of pretrained members (the recipe's)"}
    )
    scratch_lr: float = field(
        default=1e-3,
        metadata={"help": "learning rate of scratch members, fine-tuning and MLM alike"},
    )
    dapt_epochs: int = field(default=1, metadata={"help": "epochs of the masked-LM stage"})
    dapt_max_texts: int | None = field(
        default=20000, metadata={"help": "distinct turn texts the masked-LM stage trains on"}
    )
    max_steps: int | None = field(
        default=None,
        metadata={"help": "cap on fine-tuning steps per member (tests, smoke runs)"},
    )
    seed: int = field(default=13, metadata={"help": "seed of the split, sampling and weights"})
    rps: str = field(
        default="1,5,20", metadata={"help": "request rates of the latency measurement (comma list)"}
    )
    latency_seconds: float = field(
        default=30.0,
        metadata={"help": "seconds of arrivals per rate; queued requests then run to completion"},
    )
    budget_ms: float = field(
        default=100.0,
        metadata={"help": "p99 latency budget at the highest rate, for the recommendation"},
    )
    backend: str = field(
        default="fp32",
        metadata={"help": "serving backend for validation and latency (see ranker.serving)"},
    )
    threads: int = field(default=1, metadata={"help": "torch threads for training and serving"})
    fit_on: str = field(
        default="truncated",
        metadata={"help": "members in the power-law fit: 'truncated' or 'all'"},
    )
    progress: bool = field(default=True, metadata={"help": "show progress bars"})


# Fields that may differ when a study is resumed: they choose members or re-draw the report,
# and change no member's result.
RESUMABLE_CHANGES = frozenset(
    {"out", "layers", "scratch", "larger", "domain_adapt", "budget_ms", "fit_on", "progress"}
)


def csv_items(text: str) -> list[str]:
    """The non-empty items of a comma list: ``"1, 2,"`` -> ``["1", "2"]``."""
    return [part.strip() for part in text.split(",") if part.strip()]
