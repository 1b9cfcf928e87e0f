"""`manage.py ensure_model`: make sure a ranker can serve; register the default one if none can.

Once per deployment, not once per host: every host's `make run` (or release step) may call it,
and a database lock (assist/lifecycle/locks.py) lets one process at a time decide. With no
active ModelVersion, it takes the model in RANKER_DIR, training one there first if there is none
(on the stored conversations: the demo's, on a fresh `make run`), publishes it as an artifact in
shared storage and activates it; every worker, on any host, then fetches that version. A process
that waited for the lock finds the version active and does nothing. Training is `python -m
ranker train`'s default recipe (the whole encoder fine-tuned), about two minutes on the demo's
conversations: a head over the frozen encoder trains as fast there but ranked a chat's second
topic far worse (docs/benchmarks.md, "Demo chats").
"""

import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from assist.lifecycle.locks import deployment_lock
from assist.lifecycle.registry import (
    model_dir_install,
    model_version_activate,
    model_version_register,
)
from assist.lifecycle.training_data import catalog_write_csv, conversations_write_jsonl
from assist.models import Conversation, ModelVersion


class Command(BaseCommand):
    help = (
        "Register and activate the default ranker (RANKER_DIR, trained there if empty) unless a "
        "model version is active; once per deployment."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--epochs", type=int, default=None, help="training epochs (default: the recipe's)"
        )

    def handle(self, *args: Any, epochs: int | None, **options: Any) -> None:
        target = Path(settings.RANKER_DIR)
        with deployment_lock("ensure-model", wait=True):
            if ModelVersion.objects.filter(is_active=True).exists():
                self.stdout.write("ranker: the active model version serves")
                return
            if (target / "ranker.json").is_file():
                self.stdout.write(f"ranker: reusing {target}")
            else:
                self._train(target, epochs=epochs)
            version = model_version_register(
                name="default-" + timezone.now().strftime("%Y%m%d-%H%M%S"),
                path=target,
                notes="The default model (manage.py ensure_model).",
            )
            model_version_activate(version=version)
        self.stdout.write(f"ranker: {version.name} registered (artifact {version.artifact})")

    def _train(self, target: Path, *, epochs: int | None) -> None:
        from ranker.train import TrainConfig, train

        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            conversations = conversations_write_jsonl(
                Conversation.objects.all(), work / "train.jsonl"
            )
            if not conversations or not catalog_write_csv(work / "catalog.csv"):
                raise CommandError("no conversations or templates to train on: run seed_demo")
            self.stdout.write(
                f"ranker: training the default model on {conversations} conversations "
                "(first start only; about two minutes)"
            )
            started = time.monotonic()
            out = work / "model"
            train(
                TrainConfig(
                    data=str(work / "train.jsonl"),
                    catalog=str(work / "catalog.csv"),
                    out=str(out),
                    epochs=epochs,
                    # The fastest backend whose accuracy matches fp32 on this machine's CPU
                    # (ranker/serving.py), measured here, never assumed from another machine.
                    backend="auto",
                    threads=settings.RANKER_THREADS * 2,
                )
            )
            model_dir_install(source=out, target=target)
        self.stdout.write(
            f"ranker: trained in {time.monotonic() - started:.0f} s, saved to {target}"
        )
