"""R-Drop (--rdrop): the loss of two dropout passes over one batch and their disagreement."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from ranker.model import build_classifier, load_encoder, load_tokenizer
from ranker.train import TrainConfig, fine_tune_step, symmetric_kl


def test_symmetric_kl_is_zero_only_for_equal_distributions_and_symmetric() -> None:
    torch.manual_seed(0)
    a, b = torch.randn(4, 5), torch.randn(4, 5)  # (batch, labels)
    assert symmetric_kl(a, a).item() == pytest.approx(0.0, abs=1e-6)
    assert symmetric_kl(a, a + 3.0).item() == pytest.approx(0.0, abs=1e-5)  # same softmax
    assert symmetric_kl(a, b).item() > 0.01
    assert symmetric_kl(a, b).item() == pytest.approx(symmetric_kl(b, a).item())


def test_rdrop_adds_the_disagreement_of_two_dropout_passes_to_their_mean_loss(
    tiny_base: Path,
) -> None:
    torch.manual_seed(0)
    tokenizer = load_tokenizer(str(tiny_base))
    model = build_classifier(load_encoder(str(tiny_base)), 5, tokenizer)
    model.train()  # dropout on: the two passes differ
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # the step must not move the weights
    ids = torch.randint(1000, 2000, (3, 12))  # (batch, seq)
    y = torch.tensor([0, 1, 2])
    seen: list[torch.Tensor] = []
    ce = nn.CrossEntropyLoss()

    def loss_fn(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        seen.append(logits.detach().clone())
        loss: torch.Tensor = ce(logits, labels)
        return loss

    alpha = 2.0
    loss = fine_tune_step(
        model, opt, loss_fn, ids, torch.ones_like(ids), y, bf16=False, rdrop=alpha
    )
    assert len(seen) == 2
    first, second = seen
    assert not torch.allclose(first, second)  # two dropout masks, one batch
    expected = (ce(first, y) + ce(second, y)) / 2 + alpha * symmetric_kl(first, second)
    assert loss == pytest.approx(expected.item(), rel=1e-5)

    seen.clear()
    fine_tune_step(model, opt, loss_fn, ids, torch.ones_like(ids), y, bf16=False)
    assert len(seen) == 1  # without R-Drop: one pass


def test_a_negative_rdrop_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="rdrop"):
        TrainConfig(data="d", catalog="c", out="o", rdrop=-1.0)
