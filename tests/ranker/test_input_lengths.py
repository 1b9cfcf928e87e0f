"""The bf16 backend serves a few input lengths, all compiled before a worker takes work
(ranker/serving.py, BF16_LENGTH_STEP): oneDNN keeps compiled bf16 kernels for every shape it
meets, and a worker that met every length from 3 to 96 tokens grew by 168 MB."""

import numpy as np

import ranker.serving
from ranker.model import load_model_dir, torch_forward
from ranker.serving import BF16_LENGTH_STEP, Ranker, _lengths_rounded_up


def test_rounded_up_inputs_give_the_exact_length_s_logits(trained):
    model, _, _ = load_model_dir(trained)
    forward = torch_forward(model)
    seen: list[tuple[int, int]] = []  # (padded length, tokens the mask lets through)

    def recording(ids, mask):
        seen.append((ids.shape[1], int(mask.sum())))
        return forward(ids, mask)

    padded = _lengths_rounded_up(recording, 16)
    for length in (3, 16, 17, 40):
        ids = np.array([[101] + [2000 + i for i in range(length - 2)] + [102]])  # (1, length)
        mask = np.ones_like(ids)
        np.testing.assert_allclose(padded(ids, mask), forward(ids, mask), rtol=1e-4, atol=1e-5)
    assert seen == [(16, 3), (16, 16), (32, 17), (48, 40)]


def test_a_warmed_bf16_ranker_meets_no_new_length(trained, monkeypatch):
    shapes: list[tuple[int, int]] = []

    def recording_torch_forward(module):
        inner = torch_forward(module)

        def forward(ids, mask):
            shapes.append(ids.shape)
            return inner(ids, mask)

        return forward

    monkeypatch.setattr(ranker.serving, "torch_forward", recording_torch_forward)
    model = Ranker(trained, backend="bf16", threads=1)
    model.warm_up()
    warmed = set(shapes)
    assert {length for _, length in warmed} == set(
        range(BF16_LENGTH_STEP, model.meta.max_tokens + 1, BF16_LENGTH_STEP)
    )

    shapes.clear()
    for words in range(1, 60, 3):  # from a few tokens to more than the budget
        model.rank([" ".join(["card"] * words)], k=3)
    assert shapes and set(shapes) <= warmed


def test_fp32_runs_at_the_exact_length(trained, monkeypatch):
    lengths: list[int] = []

    def recording_torch_forward(module):
        inner = torch_forward(module)
        return lambda ids, mask: lengths.append(ids.shape[1]) or inner(ids, mask)

    monkeypatch.setattr(ranker.serving, "torch_forward", recording_torch_forward)
    model = Ranker(trained, backend="fp32", threads=1)
    for words in (1, 5, 9):
        model.rank([" ".join(["card"] * words)], k=3)
    assert lengths == [3, 7, 11]  # [CLS] words [SEP]
