"""``python -m ranker train|evaluate|scaling``: argparse into the config dataclasses."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import Any


def _add_dataclass_args(parser: argparse.ArgumentParser, cls: Any, required: set[str]) -> None:
    """One ``--option`` per dataclass field; booleans become flags."""
    for f in dataclasses.fields(cls):
        opt = "--" + f.name.replace("_", "-")
        default = None if f.default is dataclasses.MISSING else f.default
        if f.type in ("bool", bool):
            parser.add_argument(opt, action=argparse.BooleanOptionalAction, default=default)
            continue
        kind = str(f.type)
        conv: Any = int if "int" in kind else float if "float" in kind else str
        parser.add_argument(
            opt, type=conv, default=default, required=f.name in required, metavar=f.name.upper()
        )


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (subcommands ``train``, ``evaluate`` and ``scaling``)."""
    from ranker.evaluate import EvalConfig
    from ranker.scaling import ScalingConfig
    from ranker.train import TrainConfig

    parser = argparse.ArgumentParser(prog="python -m ranker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train, calibrate and save a model directory")
    _add_dataclass_args(tr, TrainConfig, {"data", "catalog", "out"})
    ev = sub.add_parser("evaluate", help="evaluate a model directory; last line is JSON")
    _add_dataclass_args(ev, EvalConfig, {"model", "data"})
    sc = sub.add_parser(
        "scaling", help="scaling study: loss, accuracy and latency against size and compute"
    )
    _add_dataclass_args(sc, ScalingConfig, {"data", "catalog", "out"})
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = vars(build_parser().parse_args(argv))
    command = args.pop("command")
    if command == "train":
        from ranker.train import TrainConfig, train

        metrics = train(TrainConfig(**args))
        summary = {k: v for k, v in metrics.items() if k != "history"}
        print(json.dumps(summary, sort_keys=True))
    elif command == "scaling":
        from ranker.scaling import ScalingConfig, run_study

        print(json.dumps(run_study(ScalingConfig(**args)), sort_keys=True))
    else:
        from ranker.evaluate import EvalConfig, evaluate

        result = evaluate(EvalConfig(**args))
        sys.stdout.flush()
        print(json.dumps(result, sort_keys=True))
    return 0
