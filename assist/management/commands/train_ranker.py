"""`manage.py train_ranker`: retrain the ranker on the logs and register a new model version."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assist.lifecycle.retraining import NotEnoughData, RetrainOptions, ranker_retrain


class Command(BaseCommand):
    help = (
        "Train a ranker on the stored conversations (older ones; the newest are held out), "
        "evaluate it and the active version on the held-out ones, and register it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--epochs", type=int, help="default: the ranker's recipe")
        parser.add_argument(
            "--freeze-encoder", action="store_true", help="train the head only (fast)"
        )
        parser.add_argument("--dev-fraction", type=float, default=0.1)
        parser.add_argument("--max-examples", type=int)
        parser.add_argument("--threads", type=int)
        parser.add_argument(
            "--promote-margin",
            type=float,
            default=settings.RETRAIN_PROMOTE_MARGIN,
            help="activate it if its top-1 beats the active one's by this much (0.01 = 1 point)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            version = ranker_retrain(
                options=RetrainOptions(
                    epochs=options["epochs"],
                    freeze_encoder=options["freeze_encoder"],
                    dev_fraction=options["dev_fraction"],
                    max_examples=options["max_examples"],
                    promote_margin=options["promote_margin"],
                    threads=options["threads"],
                )
            )
        except NotEnoughData as error:
            raise CommandError(str(error)) from None
        new = version.metrics["dev"]
        active = version.metrics["active_on_same_dev"]
        self.stdout.write(f"registered {version.name} at {version.path}")
        self.stdout.write(
            f"held-out newest conversations ({version.metrics['dev_examples']} templated turns): "
            f"new top-1 {new['top1_all']:.4f}, top-5 {new['top5_all']:.4f}"
        )
        if active is not None:
            self.stdout.write(
                f"active {version.metrics['active_version']} on the same turns: "
                f"top-1 {active['top1_all']:.4f}, top-5 {active['top5_all']:.4f}"
            )
        state = "active" if version.is_active else "not active (promote it in the admin)"
        self.stdout.write(f"{version.name} is {state}")
