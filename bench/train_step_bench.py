"""Fine-tuning throughput, fp32 against bf16 autocast, on this CPU (issue 17 item 3's lever).

One training step of the default encoder (all-MiniLM-L6-v2) with a cosine head over 300 labels,
`ranker.train.fine_tune_step` as `fit` takes it (forward under `torch.autocast` or not, fp32
loss, backward, gradient clipping, fused AdamW), on random token ids of a fixed shape. The
modes alternate, each timed over `--steps` steps after one untimed, `--rounds` times, so that
drift on a shared machine hits both alike. Prints examples per second per mode and bf16 / fp32.

    python bench/train_step_bench.py [--batch 32] [--tokens 96] [--threads 2]

bf16 pays only where the CPU computes it natively (avx512_bf16 or amx_bf16 in the flags
printed first); elsewhere `--autocast auto` leaves training in fp32, and so should you.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

from machine import describe_machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch import nn

from ranker.base_models import default_base_model
from ranker.model import build_classifier, load_encoder, load_tokenizer
from ranker.train import fine_tune_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=96, help="tokens per example")
    parser.add_argument("--labels", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round and mode")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(describe_machine())
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    base = default_base_model()
    model = build_classifier(load_encoder(base), args.labels, load_tokenizer(base))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    loss_fn = nn.CrossEntropyLoss()
    ids = torch.randint(1000, 20000, (args.batch, args.tokens))
    mask = torch.ones_like(ids)
    y = torch.randint(0, args.labels, (args.batch,))

    def step(bf16: bool) -> None:
        fine_tune_step(model, opt, loss_fn, ids, mask, y, bf16=bf16)

    rates: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.rounds):
        for bf16 in (False, True):
            step(bf16)
            start = time.perf_counter()
            for _ in range(args.steps):
                step(bf16)
            rates[bf16].append(args.batch * args.steps / (time.perf_counter() - start))
    fp32, bf16 = statistics.median(rates[False]), statistics.median(rates[True])
    print(f"batch {args.batch} x {args.tokens} tokens, {args.threads} threads")
    print(
        f"fp32: {fp32:.1f} examples/s; bf16 autocast: {bf16:.1f} examples/s; "
        f"bf16 / fp32 {bf16 / fp32:.2f}x"
    )


if __name__ == "__main__":
    main()
