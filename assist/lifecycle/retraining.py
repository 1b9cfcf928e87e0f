"""Retraining from the logs: export, train, compare with the active version, register.

The newest conversations are held out (a time split) and both the new model and the active
one are evaluated on exactly that data, so the two figures side by side answer "is the new
one better on what customers ask now?". Promotion is a catalog admin's decision in the admin,
or automatic when `RETRAIN_PROMOTE_MARGIN` is set and the new model beats the active one by
at least that much top-1 accuracy.
"""

import json
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from assist.lifecycle.registry import model_dir_install, model_version_activate
from assist.lifecycle.training_data import (
    catalog_write_csv,
    conversations_split_by_time,
    conversations_write_jsonl,
)
from assist.models import Conversation, ModelVersion

logger = logging.getLogger(__name__)


class NotEnoughData(RuntimeError):
    """Too few templated agent turns in the logs to train on."""


@dataclass(frozen=True)
class RetrainOptions:
    epochs: int | None = None  # None: the ranker's default recipe
    freeze_encoder: bool = False  # head only: minutes instead of hours, a little less accurate
    dev_fraction: float = 0.1
    max_examples: int | None = None
    promote_margin: float | None = None  # None: never promote automatically
    threads: int | None = None
    base_model: str | None = None  # None: the ranker's default (all-MiniLM-L6-v2)


def _labelled_turns(path: Path) -> int:
    from ranker.data import read_conversations

    return sum(
        1
        for conversation in read_conversations(path)
        for turn in conversation.turns
        if turn.role == "agent" and turn.template
    )


def _evaluate(model_dir: str, dev: Path, labelled: int) -> dict[str, Any]:
    """The ranker's metrics on `dev`, plus top-1/top-5 over *all* templated dev turns.

    `evaluate` counts only turns whose template the model knows; an older model does not know
    templates added since, so the comparison uses the share of all templated turns, where an
    unknown template counts as a miss.
    """
    from ranker.evaluate import EvalConfig, evaluate

    metrics = evaluate(EvalConfig(model=model_dir, data=str(dev)))
    known = metrics.get("n") or 0
    for k in (1, 5):
        value = metrics.get(f"top{k}")
        metrics[f"top{k}_all"] = (
            (value * known / labelled) if value is not None and labelled else 0.0
        )
    metrics["n_all"] = labelled
    return metrics


def ranker_retrain(*, options: RetrainOptions | None = None) -> ModelVersion:
    """Train a new ranker on the logs and register it with metrics beside the active one's."""
    from ranker.train import TrainConfig, train

    options = options or RetrainOptions()
    active = ModelVersion.objects.filter(is_active=True).first()
    name = "retrain-" + timezone.now().strftime("%Y%m%d-%H%M%S")
    target = Path(settings.MODELS_DIR) / name
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        older, newer = conversations_split_by_time(
            Conversation.objects.all(), dev_fraction=options.dev_fraction
        )
        conversations_write_jsonl(older, work / "train.jsonl")
        conversations_write_jsonl(newer, work / "dev.jsonl")
        catalog_write_csv(work / "catalog.csv")
        labelled_train = _labelled_turns(work / "train.jsonl")
        labelled_dev = _labelled_turns(work / "dev.jsonl")
        if labelled_train < settings.RETRAIN_MIN_EXAMPLES or not labelled_dev:
            raise NotEnoughData(
                f"{labelled_train} templated agent turns to train on and {labelled_dev} to "
                f"validate on; at least {settings.RETRAIN_MIN_EXAMPLES} and 1 are needed"
            )
        config = TrainConfig(
            data=str(work / "train.jsonl"),
            catalog=str(work / "catalog.csv"),
            dev=str(work / "dev.jsonl"),
            out=str(work / "model"),
            max_examples=options.max_examples,
            freeze_encoder=options.freeze_encoder,
            threads=options.threads,
            base_model=options.base_model,
            progress=False,
        )
        if options.epochs is not None:
            config.epochs = options.epochs
        train(config)
        new_metrics = _evaluate(str(work / "model"), work / "dev.jsonl", labelled_dev)
        active_metrics = (
            _evaluate(active.path, work / "dev.jsonl", labelled_dev) if active else None
        )
        model_dir_install(source=work / "model", target=target)
    version = ModelVersion.objects.create(
        name=name,
        path=str(target),
        base_model=json.loads((target / "ranker.json").read_text()).get("base_model", ""),
        metrics={
            "dev": new_metrics,
            "active_on_same_dev": active_metrics,
            "active_version": active.name if active else None,
            "train_examples": labelled_train,
            "dev_examples": labelled_dev,
            "train_seconds": round(time.monotonic() - started),
        },
    )
    logger.info("registered %s (dev top-1 %.4f)", name, new_metrics["top1_all"])
    margin = options.promote_margin
    if margin is not None and (
        active_metrics is None or new_metrics["top1_all"] >= active_metrics["top1_all"] + margin
    ):
        model_version_activate(version=version)
    return version
