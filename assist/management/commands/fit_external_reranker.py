"""`manage.py fit_external_reranker --data DEV.jsonl`: the external re-ranker's temperature.

Asks the configured endpoint (EXTERNAL_RERANK_URL) about the active model's top-M for each
templated agent turn of a dev file, inverts the softmax of each answer and fits one temperature
by NLL (ranker/external.py). Set the printed value as EXTERNAL_RERANK_TEMPERATURE.
"""

import random
from typing import Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assist.lifecycle.pii import pii_scrub
from assist.serving.model_cache import serving_ranker
from assist.serving.reranking import candidates_for, external_config
from ranker.data import iter_examples, read_conversations
from ranker.external import ExternalError, external_distribution, fit_external_temperature


class Command(BaseCommand):
    help = "Fit the external re-ranker's temperature on a dev file of conversations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", required=True, help="conversations JSONL (dev data)")
        parser.add_argument("--max-examples", type=int, default=300)
        parser.add_argument("--seed", type=int, default=13)

    def handle(self, *args: Any, data: str, max_examples: int, seed: int, **options: Any) -> None:
        config = external_config()
        if config is None:
            raise CommandError("EXTERNAL_RERANK_URL is not set")
        _, ranker = serving_ranker()
        examples = [
            e
            for e in iter_examples(read_conversations(data), ranker.tokenizer)
            if e.label is not None
        ]
        random.Random(seed).shuffle(examples)
        distributions, candidates, labels, failures = [], [], [], 0
        for example in examples[:max_examples]:
            ranked = ranker.rank([example.context], k=config.top_m)[0]
            keys = [key for key, _ in ranked]
            catalog = candidates_for(keys)
            try:
                answer = external_distribution(
                    config,
                    pii_scrub(example.context),
                    [catalog[key] for key in keys if key in catalog],
                )
            except ExternalError as error:
                failures += 1
                self.stderr.write(f"skipped one example: {error.reason}")
                continue
            distributions.append(answer)
            candidates.append(list(answer))
            labels.append(cast(str, example.label))  # unlabelled examples were dropped above
        if not distributions:
            raise CommandError("the endpoint gave no usable answer")
        temperature = fit_external_temperature(distributions, candidates, labels)
        self.stdout.write(
            f"{len(distributions)} answers ({failures} refused); "
            f"EXTERNAL_RERANK_TEMPERATURE={temperature:.4f}"
        )
