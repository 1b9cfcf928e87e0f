"""Retraining from the logs: export, train, compare with the active version, register.

The logs are split by when each conversation started (training_data.conversations_split_by_time):
the new model trains on the oldest, stops early and is calibrated on the next (dev), and the
newest (test) are seen by neither model's fitting: both the new model and the active one are
measured on exactly those turns, so the two figures side by side answer "is the new one better
on what customers ask now?", with a paired interval of the difference (comparison.py).
Promotion is a catalog admin's decision in the admin, or automatic when `RETRAIN_PROMOTE_MARGIN`
is set, the new model beats the active one by at least that much top-1 accuracy, and the
difference is significant (its 95% interval over test conversations leaves out zero).

The new model is published as an artifact in shared storage (registry.model_version_register),
so every worker, on any host, can load it. One retraining runs at a time in the whole deployment
(a database lock, locks.py): a second one, from beat or `manage.py train_ranker`, stops at once
with RetrainRunning.
"""

import dataclasses
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Max, Min
from django.utils import timezone

from assist.lifecycle.comparison import PairedComparison, TurnHits, paired_comparison, turn_hits
from assist.lifecycle.locks import deployment_lock
from assist.lifecycle.registry import model_version_activate, model_version_register
from assist.lifecycle.training_data import (
    catalog_write_csv,
    conversations_split_by_time,
    conversations_write_jsonl,
)
from assist.models import Conversation, ModelVersion
from assist.serving import model_cache

logger = logging.getLogger(__name__)


class NotEnoughData(RuntimeError):
    """Too few templated agent turns in the logs to train on."""


class RetrainRunning(RuntimeError):
    """Another retraining is running in the deployment; this one did not start."""


@dataclass(frozen=True)
class RetrainOptions:
    epochs: int | None = None  # None: the ranker's default recipe
    freeze_encoder: bool = False  # head only: minutes instead of hours, a little less accurate
    dev_fraction: float = 0.1  # early stopping and calibration
    test_fraction: float = 0.1  # the comparison with the active version
    max_examples: int | None = None
    promote_margin: float | None = None  # None: never promote automatically
    threads: int | None = None
    base_model: str | None = None  # None: the ranker's default (all-MiniLM-L6-v2)
    # The domain-adaptive (masked-LM) stage first; None: settings.RETRAIN_DOMAIN_ADAPT.
    domain_adapt: bool | None = None


def _labelled_turns(path: Path) -> int:
    from ranker.data import read_conversations

    return sum(
        1
        for conversation in read_conversations(path)
        for turn in conversation.turns
        if turn.role == "agent" and turn.template
    )


def _evaluate(model_dir: str, test: Path) -> tuple[dict[str, Any], TurnHits]:
    """The ranker's metrics on `test`, plus top-1/top-5 over *all* templated test turns, and
    the per-turn hits behind them (for the paired comparison).

    `evaluate` counts only turns whose template the model knows; an older model does not know
    templates added since, so the comparison uses the share of all templated turns (those with
    a context to rank from), where an unknown template counts as a miss.
    """
    from ranker.evaluate import EvalConfig, evaluate

    metrics = evaluate(EvalConfig(model=model_dir, data=str(test)))
    hits = turn_hits(model_dir, test)
    metrics["top1_all"] = float(hits.top1.mean()) if len(hits.top1) else 0.0
    metrics["top5_all"] = float(hits.topk.mean()) if len(hits.topk) else 0.0
    metrics["n_all"] = len(hits.turns)
    return metrics, hits


def promotion_due(comparison: PairedComparison | None, margin: float | None) -> bool:
    """Automatic promotion: a margin is set, and the new model either has no active one to beat
    or beats it by at least `margin` top-1 with a significant difference."""
    if margin is None:
        return False
    if comparison is None:
        return True
    # low > 0: the whole 95% interval is a gain, not just the point estimate.
    return comparison.difference >= margin and comparison.low > 0


def ranker_retrain(*, options: RetrainOptions | None = None) -> ModelVersion:
    """Train a new ranker on the logs and register it with metrics beside the active one's,
    both on the same test turns that neither model's fitting saw.

    Raises RetrainRunning, changing nothing, while another retraining runs anywhere.
    """
    with deployment_lock("retrain", wait=False) as held:
        if not held:
            logger.warning("retraining not started: another retraining is running")
            raise RetrainRunning("another retraining is running; this one did not start")
        return _retrain(options or RetrainOptions())


def _retrain(options: RetrainOptions) -> ModelVersion:
    from ranker.train import TrainConfig, train

    domain_adapt = (
        settings.RETRAIN_DOMAIN_ADAPT if options.domain_adapt is None else options.domain_adapt
    )
    active = ModelVersion.objects.filter(is_active=True).first()
    name = "retrain-" + timezone.now().strftime("%Y%m%d-%H%M%S")
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        split = conversations_split_by_time(
            Conversation.objects.all(),
            dev_fraction=options.dev_fraction,
            test_fraction=options.test_fraction,
        )
        paths = {part: work / f"{part}.jsonl" for part in ("train", "dev", "test")}
        counts = {
            part: conversations_write_jsonl(getattr(split, part), path)
            for part, path in paths.items()
        }
        catalog_write_csv(work / "catalog.csv")
        labelled = {part: _labelled_turns(path) for part, path in paths.items()}
        if (
            labelled["train"] < settings.RETRAIN_MIN_EXAMPLES
            or not labelled["dev"]
            or not labelled["test"]
        ):
            raise NotEnoughData(
                f"{labelled['train']} templated agent turns to train on, {labelled['dev']} for "
                f"early stopping and {labelled['test']} to compare on; at least "
                f"{settings.RETRAIN_MIN_EXAMPLES}, 1 and 1 are needed (conversations without "
                f"a recorded start time count for training only)"
            )
        config = TrainConfig(
            data=str(paths["train"]),
            catalog=str(work / "catalog.csv"),
            dev=str(paths["dev"]),
            out=str(work / "model"),
            max_examples=options.max_examples,
            freeze_encoder=options.freeze_encoder,
            threads=options.threads,
            base_model=options.base_model,
            domain_adapt=domain_adapt,
            progress=False,
        )
        if options.epochs is not None:
            config.epochs = options.epochs
        train(config)
        new_metrics, new_hits = _evaluate(str(work / "model"), paths["test"])
        adaptation = None
        if domain_adapt:
            # The same recipe without the stage, measured on the same test turns: what the
            # stage is worth on these logs (the registered model is the adapted one either way).
            without = dataclasses.replace(config, domain_adapt=False, out=str(work / "without"))
            train(without)
            without_metrics, without_hits = _evaluate(without.out, paths["test"])
            adaptation = {
                "without": {key: without_metrics[key] for key in ("top1_all", "top5_all")},
                "effect": paired_comparison(new_hits, without_hits).as_dict(),
            }
        active_metrics = comparison = None
        if active is not None:
            active_metrics, active_hits = _evaluate(
                str(model_cache.model_dir(active)), paths["test"]
            )
            comparison = paired_comparison(new_hits, active_hits)
        test_times = split.test.aggregate(first=Min("started_at"), last=Max("started_at"))
        version = model_version_register(
            name=name,
            path=work / "model",
            metrics={
                "test": new_metrics,
                "active_on_same_test": active_metrics,
                "comparison": comparison.as_dict() if comparison else None,
                # None: trained without the stage; else its effect on the test split.
                "domain_adapt": adaptation,
                "active_version": active.name if active else None,
                "split": {
                    "conversations": counts,
                    "templated_turns": labelled,
                    "undated_in_train": split.undated,
                    "test_from": test_times["first"].isoformat() if test_times["first"] else None,
                    "test_to": test_times["last"].isoformat() if test_times["last"] else None,
                },
                "train_examples": labelled["train"],
                "test_examples": new_metrics["n_all"],
                "train_seconds": round(time.monotonic() - started),
            },
        )
    logger.info("registered %s (test top-1 %.4f)", name, new_metrics["top1_all"])
    if promotion_due(comparison, options.promote_margin):
        model_version_activate(version=version, how=ModelVersion.Activation.AUTOMATIC)
    return version
