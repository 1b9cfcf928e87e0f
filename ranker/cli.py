"""``python -m ranker train|evaluate|scaling``: the command line, into the config dataclasses.

One sub-command per config dataclass; ``transformers.HfArgumentParser`` makes an option of every
field (``--max-tokens`` and ``--max_tokens`` alike; a boolean that defaults to true also gets
``--no-<name>``), with the field's ``metadata["help"]`` as its help text.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from transformers import HfArgumentParser

if TYPE_CHECKING:
    from ranker.evaluate import EvalConfig
    from ranker.scaling import ScalingConfig
    from ranker.train import TrainConfig

    Config = TrainConfig | EvalConfig | ScalingConfig


def _commands() -> dict[str, tuple[type[Any], str]]:
    """Sub-command -> (config dataclass, help). Imported here: they pull in torch."""
    from ranker.evaluate import EvalConfig
    from ranker.scaling import ScalingConfig
    from ranker.train import TrainConfig

    return {
        "train": (TrainConfig, "train, calibrate and save a model directory"),
        "evaluate": (EvalConfig, "evaluate a model directory; the last line printed is JSON"),
        "scaling": (
            ScalingConfig,
            "scaling study: loss, accuracy and latency against size and compute",
        ),
    }


def build_parser() -> HfArgumentParser:
    """The command-line parser: one sub-command per config dataclass."""
    parser = HfArgumentParser(
        prog="python -m ranker",
        description="Train a template ranker, evaluate it, or run the scaling study.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (config_class, help_text) in _commands().items():
        sub.add_parser(name, help=help_text, description=help_text, dataclass_types=[config_class])
    return parser


def parse_command(argv: Sequence[str] | None = None) -> tuple[str, Config]:
    """``(sub-command, its config)`` from the command line (``sys.argv[1:]`` by default)."""
    namespace = vars(build_parser().parse_args(argv))
    command = namespace.pop("command")
    config_class = _commands()[command][0]
    fields = {f.name for f in dataclasses.fields(config_class) if f.init}
    config: Config = config_class(**{k: v for k, v in namespace.items() if k in fields})
    return command, config


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; prints the command's result as one JSON line and returns the exit status."""
    from ranker.evaluate import EvalConfig, evaluate
    from ranker.scaling import ScalingConfig, run_study
    from ranker.train import TrainConfig, train

    _, config = parse_command(argv)
    if isinstance(config, TrainConfig):
        metrics = train(config)
        summary = {k: v for k, v in metrics.items() if k != "history"}
        print(json.dumps(summary, sort_keys=True))
    elif isinstance(config, ScalingConfig):
        print(json.dumps(run_study(config), sort_keys=True))
    elif isinstance(config, EvalConfig):
        result = evaluate(config)
        sys.stdout.flush()
        print(json.dumps(result, sort_keys=True))
    return 0
