"""bf16 autocast in fine-tuning: on where the CPU computes bfloat16 natively, never where it
would emulate it (several times slower than fp32), and a model trained under it still learns."""

from pathlib import Path

import pytest

from ranker import train as train_module
from ranker.train import TrainConfig, train
from tests.ranker.conftest import tiny_recipe

NATIVE = frozenset({"avx2", "avx512f", "avx512_bf16"})
AVX2_ONLY = frozenset({"avx2", "fma"})


def config(**kwargs) -> TrainConfig:
    return TrainConfig(data="d.jsonl", catalog="c.csv", out="out", **kwargs)


@pytest.mark.parametrize(
    ("mode", "flags", "on"),
    [
        ("auto", NATIVE, True),
        ("auto", frozenset({"amx_bf16"}), True),
        ("auto", AVX2_ONLY, False),
        ("auto", None, False),  # flags unknown: fp32, the safe choice
        ("bf16", AVX2_ONLY, True),  # asked for: the person knows their CPU
        ("off", NATIVE, False),
    ],
)
def test_autocast_follows_the_cpu_unless_told(monkeypatch, mode, flags, on):
    monkeypatch.setattr(train_module, "cpu_flags", lambda: flags)
    assert config(autocast=mode).bf16_autocast is on


def test_an_unknown_autocast_mode_is_refused():
    with pytest.raises(ValueError, match="autocast"):
        config(autocast="fp16")


def test_a_model_fine_tuned_under_bf16_autocast_learns(
    tmp_path: Path, tiny_base: Path, data_dir: Path
) -> None:
    metrics = train(tiny_recipe(data_dir, tiny_base, tmp_path, autocast="bf16"))
    assert metrics["autocast"] == "bf16"
    # Five intents: chance is 20%; the fp32 run of the same recipe (conftest's `trained`)
    # is held to the same bar in test_train_serve.py.
    assert metrics["dev_top1"] >= 0.6
