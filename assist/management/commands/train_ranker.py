"""`manage.py train_ranker`: retrain the ranker on the logs and register a new model version."""

import argparse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assist.lifecycle.retraining import (
    NotEnoughData,
    RetrainOptions,
    RetrainRunning,
    ranker_retrain,
)


class Command(BaseCommand):
    help = (
        "Train a ranker on the stored conversations (the oldest; the next ones steer early "
        "stopping and calibration), compare it with the active version on the newest ones, "
        "which neither model was fitted on, and register it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--epochs", type=int, help="default: the ranker's recipe")
        parser.add_argument(
            "--freeze-encoder", action="store_true", help="train the head only (fast)"
        )
        parser.add_argument(
            "--dev-fraction",
            type=float,
            default=0.1,
            help="share of dated conversations, after train, for early stopping and calibration",
        )
        parser.add_argument(
            "--test-fraction",
            type=float,
            default=0.1,
            help="share of the newest conversations on which both models are compared",
        )
        parser.add_argument(
            "--domain-adapt",
            action=argparse.BooleanOptionalAction,
            default=settings.RETRAIN_DOMAIN_ADAPT,
            help="run the domain-adaptive (masked-LM) stage first, and report its effect on the "
            "test split against the same recipe without it (twice the training time)",
        )
        parser.add_argument("--max-examples", type=int)
        parser.add_argument("--threads", type=int)
        parser.add_argument(
            "--promote-margin",
            type=float,
            default=settings.RETRAIN_PROMOTE_MARGIN,
            help="activate it if its top-1 beats the active one's by this much (0.01 = 1 point) "
            "and the difference is significant",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            version = ranker_retrain(
                options=RetrainOptions(
                    epochs=options["epochs"],
                    freeze_encoder=options["freeze_encoder"],
                    dev_fraction=options["dev_fraction"],
                    test_fraction=options["test_fraction"],
                    max_examples=options["max_examples"],
                    promote_margin=options["promote_margin"],
                    threads=options["threads"],
                    domain_adapt=options["domain_adapt"],
                )
            )
        except (NotEnoughData, RetrainRunning) as error:
            raise CommandError(str(error)) from None
        metrics = version.metrics
        new, active = metrics["test"], metrics["active_on_same_test"]
        split = metrics["split"]
        self.stdout.write(f"registered {version.name} (artifact {version.artifact})")
        self.stdout.write(
            "conversations by start time: {train} train, {dev} dev (early stopping, "
            "calibration), {test} test (the comparison)".format(**split["conversations"])
            + (
                f"; {split['undated_in_train']} undated, train only"
                if split["undated_in_train"]
                else ""
            )
        )
        self.stdout.write(
            f"test split ({metrics['test_examples']} templated turns): "
            f"new top-1 {new['top1_all']:.4f}, top-5 {new['top5_all']:.4f}"
        )
        if active is not None:
            comparison = metrics["comparison"]
            self.stdout.write(
                f"active {metrics['active_version']} on the same turns: "
                f"top-1 {active['top1_all']:.4f}, top-5 {active['top5_all']:.4f}"
            )
            self.stdout.write(
                f"top-1 difference {comparison['difference']:+.4f}, 95% interval over "
                f"{comparison['conversations']} test conversations "
                f"[{comparison['low']:+.4f}, {comparison['high']:+.4f}]: "
                + ("significant" if comparison["significant"] else "not significant")
            )
        adaptation = metrics["domain_adapt"]
        if adaptation is not None:
            effect = adaptation["effect"]
            self.stdout.write(
                f"domain-adaptive stage: top-1 {effect['difference']:+.4f} against the same "
                f"recipe without it (top-1 {adaptation['without']['top1_all']:.4f}), 95% "
                f"interval [{effect['low']:+.4f}, {effect['high']:+.4f}]: "
                + ("significant" if effect["significant"] else "not significant")
            )
        state = "active" if version.is_active else "not active (promote it in the admin)"
        self.stdout.write(f"{version.name} is {state}")
