"""`manage.py replay`: recorded conversations through the live path as a simulated agent, into
an experiment with a control arm and one arm per model version; prints the experiment's
figures (assist/review/replay.py says what is simulated and how).

    manage.py replay ../shared/datasets/sgd/dev.jsonl --models sgd-300,sgd-1500 --limit 300

The models are registered versions (their names); the catalog must hold every template the
conversations send. Rankings go wherever this process sends them: Celery workers with
REDIS_URL, in-process in the embedded mode. The experiment (`--experiment`) is active only while
the replay runs. Running again with the same experiment and seed stores nothing new.
"""

import json
import random
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assist.errors import InvalidInput
from assist.models import ModelVersion
from assist.review import metrics, stats
from assist.review.replay import (
    AgentTimeModel,
    Replay,
    replay_experiment,
    time_model_description,
    validate_conversations,
)
from assist.review.reports import experiment_report
from assist.roles import AGENT


class Command(BaseCommand):
    help = "Replay recorded conversations as a simulated agent into an A/B experiment."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("conversations", type=Path, help="conversations JSONL (held out)")
        parser.add_argument(
            "--models", required=True, help="registered model versions, comma-separated"
        )
        parser.add_argument("--experiment", default="replay", help="experiment name")
        parser.add_argument(
            "--limit", type=int, default=None, help="a seeded sample of this many conversations"
        )
        parser.add_argument("--seed", type=int, default=13, help="sample and agent seed")
        parser.add_argument("--planned", type=int, default=None, help="planned per arm")
        parser.add_argument("--agent", default="replay-agent", help="the simulated agent's user")
        parser.add_argument(
            "--list-timeout", type=float, default=60.0, help="seconds to wait for a list"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from ranker.data import read_conversations

        path: Path = options["conversations"]
        try:
            conversations = read_conversations(path)
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        limit, seed = options["limit"], options["seed"]
        if limit is not None:
            if limit < 1:
                raise CommandError("--limit must be positive")
            conversations = random.Random(seed).sample(
                conversations, min(limit, len(conversations))
            )
        names = [name.strip() for name in options["models"].split(",") if name.strip()]
        versions = {v.name: v for v in ModelVersion.objects.filter(name__in=names)}
        unknown = [name for name in names if name not in versions]
        if unknown:
            raise CommandError(f"no registered model version {', '.join(unknown)}")
        try:
            # Before the experiment is made: bad input changes nothing.
            validate_conversations(conversations)
            experiment = replay_experiment(
                name=options["experiment"],
                versions=[versions[name] for name in names],
                planned=options["planned"],
            )
            replay = Replay(
                experiment=experiment,
                agent=_agent(options["agent"]),
                seed=seed,
                list_timeout_s=options["list_timeout"],
            )
            step = max(1, len(conversations) // 10)
            counts = replay.run(
                conversations,
                progress=lambda done: (
                    self.stderr.write(f"replay: {done}/{len(conversations)} conversations")
                    if done % step == 0
                    else None
                ),
            )
        except InvalidInput as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"replayed {counts.conversations} conversations ({counts.skipped} complete "
            f"already) from {path}: {counts.customer_messages} customer messages, "
            f"{counts.templated_replies} templated replies ({counts.replies_with_list} with a "
            f"list, {counts.picks_from_list} taken from it, {counts.search_picks} by search), "
            f"{counts.free_text_replies} free-text replies; lists that never came: "
            f"{counts.lists_missing}"
        )
        self.stdout.write(f"time model (simulated): {time_model_description(AgentTimeModel())}")
        self._report(experiment)

    def _report(self, experiment: Any) -> None:
        report = experiment_report(experiment, metrics.Period())
        figures: dict[str, Any] = {"experiment": experiment.name, "arms": {}, "comparisons": []}
        self.stdout.write(f"experiment {experiment.name!r}, per conversation (95% intervals):")
        for row in report["arms"]:
            sel: stats.Interval = row["selection_s"]
            top1, topk = row["rate_cis"][0], row["rate_cis"][1]
            name = row["arm"].name
            rates = (
                ""
                if row["arm"].is_control
                else f"; top-1 {top1.estimate:.1%} [{top1.low:.1%}, {top1.high:.1%}], "
                f"top-K {topk.estimate:.1%} [{topk.low:.1%}, {topk.high:.1%}]"
            )
            self.stdout.write(
                f"  {name:>20}: {row['conversations']} conversations, {row['replies']} "
                f"templated replies; selection time {sel.estimate:.2f} s "
                f"[{sel.low:.2f}, {sel.high:.2f}]{rates}"
            )
            figures["arms"][name] = {
                "conversations": row["conversations"],
                "replies": row["replies"],
                "selection_s": [sel.estimate, sel.low, sel.high],
                "top1": None if row["arm"].is_control else [top1.estimate, top1.low, top1.high],
                "topk": None if row["arm"].is_control else [topk.estimate, topk.low, topk.high],
            }
        for comparison in report["comparisons"]:
            self.stdout.write(f"  - {comparison.sentence}")
            figures["comparisons"].append(
                {
                    "metric": comparison.metric,
                    "arm": comparison.arm,
                    "reference": comparison.reference,
                    "difference": comparison.difference,
                    "test": comparison.test.name,
                    "p": comparison.test.p_value,
                    "stage": comparison.stage,
                }
            )
        self.stdout.write(json.dumps(figures))


def _agent(username: str) -> User:
    """The simulated agent's user, made (in the agent group, no password) if new."""
    agent, created = User.objects.get_or_create(username=username)
    if created:
        agent.set_unusable_password()
        agent.save(update_fields=["password"])
        agent.groups.add(Group.objects.get(name=AGENT))
    return agent
