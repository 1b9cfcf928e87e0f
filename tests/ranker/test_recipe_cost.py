"""What the default recipe spends: one pass over a large training set, R-Drop's second pass
only where it makes several, prototypes from a sample per label, bottom layers that can stay as
pretrained (the backend choice's share: test_train_serve.py)."""

from pathlib import Path

import numpy as np
import pytest

from ranker.train import ONE_EPOCH_FROM, RDROP, TrainConfig, _per_label_sample
from tests.ranker.conftest import tiny_recipe


def config(**kwargs) -> TrainConfig:
    return TrainConfig(data="d.jsonl", catalog="c.csv", out="out", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "n", "epochs"),
    [
        ({}, ONE_EPOCH_FROM - 1, 3),
        ({}, ONE_EPOCH_FROM, 1),
        ({}, 107_154, 1),  # all of SGD's templated training turns
        ({"epochs": 2}, 107_154, 2),  # asked for: kept
        ({"freeze_encoder": True}, 107_154, 3),  # head passes are cheap
    ],
)
def test_fine_tuning_makes_one_pass_over_a_large_set(kwargs, n, epochs):
    assert config(**kwargs).epochs_for(n) == epochs


@pytest.mark.parametrize(
    ("kwargs", "n", "weight"),
    [
        ({}, ONE_EPOCH_FROM - 1, RDROP),  # Banking77's size: three passes, R-Drop on
        ({}, ONE_EPOCH_FROM, 0.0),  # one pass: a second forward would cost half again
        ({"epochs": 1}, 1000, 0.0),  # one pass asked for: no R-Drop either
        ({"epochs": 2}, 107_154, RDROP),
        ({"rdrop": 0.0}, 1000, 0.0),  # asked for: kept
        ({"rdrop": 1.0}, 107_154, 1.0),
        ({"freeze_encoder": True}, 1000, 0.0),  # a head over cached embeddings: nothing to drop
    ],
)
def test_r_drop_comes_with_several_passes_unless_told(kwargs, n, weight):
    assert config(**kwargs).rdrop_for(n) == weight


def test_prototype_sample_caps_each_label_and_keeps_every_label():
    y = np.array([0] * 500 + [1] * 3 + [2] * 70)
    keep = _per_label_sample(y, 64, seed=13)
    counts = np.bincount(y[keep])
    assert counts.tolist() == [64, 3, 64]
    assert np.all(np.diff(keep) > 0)  # sorted, no repeats
    assert np.array_equal(keep, _per_label_sample(y, 64, seed=13))  # seeded
    assert not np.array_equal(keep, _per_label_sample(y, 64, seed=14))


def test_frozen_layers_stay_as_pretrained_and_the_rest_learns(
    tmp_path: Path, tiny_base: Path, data_dir: Path
) -> None:
    import torch

    from ranker.model import load_encoder, load_model_dir
    from ranker.train import train

    train(tiny_recipe(data_dir, tiny_base, tmp_path, frozen_layers=1, max_steps=5))
    before = dict(load_encoder(str(tiny_base)).named_parameters())
    model, _, _ = load_model_dir(tmp_path)
    after = dict(model.encoder.named_parameters())
    changed = {n for n, p in after.items() if not torch.equal(p, before[n])}
    assert changed, "nothing learned"
    assert not {n for n in changed if n.startswith(("embeddings.", "encoder.layer.0."))}
    assert all(n.startswith("encoder.layer.1.") for n in changed if n.startswith("encoder."))
