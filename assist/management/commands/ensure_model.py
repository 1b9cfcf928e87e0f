"""`manage.py ensure_model`: make sure a ranker can serve; train the default one if none can.

With no active ModelVersion and nothing in RANKER_DIR, it trains a model on the stored
conversations (the demo's, on a fresh `make run`) and leaves it in RANKER_DIR, where the
workers find it. Later runs reuse it. It trains only a head over the frozen encoder's
embeddings, which takes about a minute here; the full fine-tune is `python -m ranker train`.
"""

import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assist.lifecycle.registry import model_dir_install
from assist.lifecycle.training_data import catalog_write_csv, conversations_write_jsonl
from assist.models import Conversation, ModelVersion


class Command(BaseCommand):
    help = "Train the default ranker into RANKER_DIR unless a model is already there."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--epochs", type=int, default=40, help="head epochs (cheap)")
        parser.add_argument("--max-tokens", type=int, default=128)

    def handle(self, *args: Any, epochs: int, max_tokens: int, **options: Any) -> None:
        target = Path(settings.RANKER_DIR)
        if ModelVersion.objects.filter(is_active=True).exists():
            self.stdout.write("ranker: the active model version serves")
            return
        if (target / "ranker.json").is_file():
            self.stdout.write(f"ranker: reusing {target}")
            return
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
                "(first start only; about a minute)"
            )
            started = time.monotonic()
            out = work / "model"
            train(
                TrainConfig(
                    data=str(work / "train.jsonl"),
                    catalog=str(work / "catalog.csv"),
                    out=str(out),
                    epochs=epochs,
                    max_tokens=max_tokens,
                    freeze_encoder=True,
                    # The fastest backend whose accuracy matches fp32 (ranker/serving.py):
                    # ONNX Runtime int8 on this machine, a third of fp32's time.
                    backend="auto",
                    threads=settings.RANKER_THREADS * 2,
                )
            )
            model_dir_install(source=out, target=target)
        self.stdout.write(
            f"ranker: trained in {time.monotonic() - started:.0f} s, saved to {target}"
        )
