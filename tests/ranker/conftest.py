"""Shared fixtures for the ranker tests: a tiny encoder and a slice of Banking77, built once."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.datasets import DATASETS

if TYPE_CHECKING:
    from ranker.train import TrainConfig

BANKING = DATASETS / "banking77"
# Five intents that do not overlap much, so a few training steps can separate them.
KEYS = ["card_arrival", "exchange_rate", "lost_or_stolen_card", "top_up_failed", "change_pin"]


def _slice(src: Path, dst: Path, per_key: int) -> None:
    counts = dict.fromkeys(KEYS, 0)
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            conv = json.loads(line)
            key = conv["turns"][-1]["template"]
            if key in counts and counts[key] < per_key:
                counts[key] += 1
                out.write(line)
    # One free-text conversation, for the abstention figures.
    with open(dst, "a", encoding="utf-8") as out:
        free = {
            "id": "free-1",
            "turns": [
                {"role": "customer", "text": "hello there"},
                {"role": "agent", "text": "Hi! How can I help?", "template": None},
            ],
        }
        out.write(json.dumps(free) + "\n")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train.jsonl (80 per intent), test.jsonl (30 per intent) and catalog.csv of five intents."""
    if not (BANKING / "train.jsonl").exists():
        pytest.skip(f"Banking77 data not found at {BANKING}")
    d = tmp_path_factory.mktemp("b77")
    _slice(BANKING / "train.jsonl", d / "train.jsonl", 80)
    _slice(BANKING / "test.jsonl", d / "test.jsonl", 30)
    with open(BANKING / "catalog.csv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["key"] in KEYS]
    with open(d / "catalog.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["key", "title", "body", "category"])
        w.writeheader()
        w.writerows(rows)
    return d


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised two-layer BERT (hidden 64) with the MiniLM tokenizer."""
    from tests.tiny_models import make_tiny_base

    return make_tiny_base(tmp_path_factory.mktemp("tiny_base"))


@pytest.fixture(scope="session")
def mpnet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """all-mpnet-base-v2 unpacked once (440 MB) into a cache folder of the test session's."""
    from ranker.base_models import _mpnet

    return _mpnet(tmp_path_factory.mktemp("base_models"))


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_base: Path, data_dir: Path) -> Path:
    """A model directory trained briefly on the five-intent slice (the dev split is held out)."""
    from ranker.train import train

    out = tmp_path_factory.mktemp("model")
    train(tiny_recipe(data_dir, tiny_base, out))
    return out


def tiny_recipe(data_dir: Path, tiny_base: Path, out: Path, **overrides: Any) -> TrainConfig:
    """The brief fine-tuning of `trained` on the five-intent slice, with `overrides`."""
    from ranker.train import TrainConfig

    return TrainConfig(
        data=str(data_dir / "train.jsonl"),
        catalog=str(data_dir / "catalog.csv"),
        out=str(out),
        base_model=str(tiny_base),
        epochs=4,
        batch_size=16,
        lr=1e-3,
        head_lr_mult=5.0,
        dev_fraction=0.2,
        max_tokens=64,
        backend="fp32",
        progress=False,
        seed=1,
        threads=1,
        **overrides,
    )
