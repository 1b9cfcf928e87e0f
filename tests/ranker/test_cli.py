"""``python -m ranker``: every option parses into its config dataclass and has a help text."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from ranker.cli import parse_command
from ranker.evaluate import EvalConfig
from ranker.scaling import ScalingConfig
from ranker.train import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {"train": TrainConfig, "evaluate": EvalConfig, "scaling": ScalingConfig}


@pytest.mark.parametrize("command", sorted(CONFIGS))
def test_every_option_has_a_help_text(command: str) -> None:
    fields = dataclasses.fields(CONFIGS[command])
    assert all(f.metadata.get("help") for f in fields), [
        f.name for f in fields if not f.metadata.get("help")
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "ranker", command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for f in fields:
        assert f"--{f.name.replace('_', '-')}" in proc.stdout
        assert " ".join(f.metadata["help"].split()[:3]) in " ".join(proc.stdout.split())


def test_train_options_parse_into_train_config() -> None:
    command, cfg = parse_command(
        [
            *("train", "--data", "t.jsonl", "--catalog", "c.csv", "--out", "m"),
            *("--dev", "d.jsonl", "--max-messages", "1", "--lr", "2e-5", "--epochs", "1"),
            *("--freeze-encoder", "--domain-adapt", "--no-progress", "--backend", "onnx-int8"),
        ]
    )
    assert command == "train"
    assert cfg == TrainConfig(
        data="t.jsonl",
        catalog="c.csv",
        out="m",
        dev="d.jsonl",
        max_messages=1,
        lr=2e-5,
        epochs=1,
        freeze_encoder=True,
        domain_adapt=True,
        progress=False,
        backend="onnx-int8",
    )
    # Defaults are the dataclass's: the recipe.
    _, default = parse_command(["train", "--data", "t", "--catalog", "c", "--out", "m"])
    assert default == TrainConfig(data="t", catalog="c", out="m")


def test_evaluate_options_parse_into_eval_config() -> None:
    args = ["evaluate", "--model", "m", "--data", "t.jsonl", "--allowed", "keys.txt"]
    command, cfg = parse_command([*args, "--exclude-sent", "--threads", "1", "--backend", "fp32"])
    assert command == "evaluate"
    assert cfg == EvalConfig(
        model="m", data="t.jsonl", allowed="keys.txt", exclude_sent=True, threads=1, backend="fp32"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--data", "t", "--catalog", "c"],  # --out is required
        ["evaluate", "--model", "m"],  # --data is required
        ["train", "--data", "t", "--catalog", "c", "--out", "m", "--epochs", "three"],
        ["nonsense"],
    ],
)
def test_bad_command_lines_exit_with_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_command(argv)
    assert exc.value.code == 2
    assert "usage: python -m ranker" in capsys.readouterr().err
