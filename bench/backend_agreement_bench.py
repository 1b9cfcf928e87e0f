"""How far a serving backend's top-1 strays from fp32's, and where: on the turns fp32 decides or
on its near-ties.

The backend choice (ranker.serving.choose_backend) serves a fast backend only if it agrees with
fp32's top-1 on 98.5% of the dev turns where fp32's calibrated top-1 leads the runner-up by
DECIDED_MARGIN or more. This bench shows why the near-ties are left out, on more turns than a
model's dev split: per backend, agreement with fp32 on every labelled turn and on the decided
ones, top-1 against the labels, the turns each gains and loses against fp32, agreement where fp32
is confident (the threshold the panel shows), and one thread's time for a 128-token input.

    python bench/backend_agreement_bench.py                    # make run's model, demo chats
    python bench/backend_agreement_bench.py --model-dir M --data test.jsonl \\
        --backends fp32,onnx,onnx-int8,int8                                          # a dataset

Without --data the turns are held-out demo chats (the generator of this checkout, another seed
than the demo's, as in bench/demo_topics_bench.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from bench.machine import describe_machine  # noqa: E402
from bench.tables import markdown_table  # noqa: E402


def labelled_contexts(
    ranker, data: Path | None, chats: int, seed: int
) -> tuple[list[str], np.ndarray]:
    """Contexts of the agent turns whose template the model knows, and their label columns."""
    from ranker.data import iter_examples, read_conversations

    index = ranker.label_index
    if data is not None:
        meta = ranker.meta
        examples = iter_examples(
            read_conversations(data), ranker.tokenizer, meta.max_tokens, meta.max_messages
        )
        pairs = [(e.context, index[e.label]) for e in examples if e.label in index]
    else:
        from assist.demo.generator import generate_conversations

        pairs = []
        for conv in generate_conversations(chats, seed=seed):
            turns = conv["turns"]
            for i, turn in enumerate(turns):
                if turn["role"] == "agent" and turn.get("template") in index and i > 0:
                    context = ranker.build_context([(t["role"], t["text"]) for t in turns[:i]])
                    pairs.append((context, index[turn["template"]]))
    return [c for c, _ in pairs], np.array([y for _, y in pairs])


def main(argv: list[str] | None = None) -> int:
    from ranker.serving import (
        DECIDED_MARGIN,
        Ranker,
        decided_by,
        measure_latency,
    )

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model-dir", type=Path, default=os.environ.get("RANKER_DIR", "var/models/default")
    )
    parser.add_argument("--data", type=Path, help="conversations (JSONL); default: demo chats")
    parser.add_argument("--chats", type=int, default=300, help="held-out demo chats (300)")
    parser.add_argument("--seed", type=int, default=1000, help="their seed (the demo's is 0)")
    parser.add_argument("--backends", default="fp32,bf16,int8,int8-mixed,onnx,onnx-int8")
    parser.add_argument("--threads", type=int, default=1, help="for the ranking and the timing")
    args = parser.parse_args(argv)

    print(describe_machine(), flush=True)
    fp32 = Ranker(args.model_dir, backend="fp32", threads=args.threads)
    contexts, y = labelled_contexts(fp32, args.data, args.chats, args.seed)
    reference = fp32.probabilities(fp32.logits(contexts), renormalise=False)  # (n, labels)
    pick = reference.argmax(1)
    decided = decided_by(reference)
    confident = reference.max(axis=1) >= fp32.threshold
    print(
        f"{len(y)} labelled turns; fp32 decides {100 * decided.mean():.1f}% of them (its top-1 "
        f"leads by >= {DECIDED_MARGIN}), is confident on {100 * confident.mean():.1f}%",
        flush=True,
    )
    rows = []
    for backend in args.backends.split(","):
        ranker = fp32 if backend == "fp32" else Ranker(args.model_dir, backend, args.threads)
        probs = ranker.probabilities(ranker.logits(contexts), renormalise=False)
        own = probs.argmax(1)
        same = own == pick
        gained, lost = ((own == y) & (pick != y)).sum(), ((own != y) & (pick == y)).sum()
        ms = 1000 * measure_latency(ranker.forward)
        rows.append(
            [
                backend,
                f"{100 * (own == y).mean():.2f}",
                f"{100 * same.mean():.2f}%",
                f"{100 * same[decided].mean():.2f}%",
                f"{100 * same[confident].mean():.2f}%",
                f"{gained} / {lost}",
                f"{ms:.1f}",
            ]
        )
    print(
        markdown_table(
            [
                "backend",
                "top-1",
                "agrees with fp32",
                "where fp32 decides",
                "where fp32 is confident",
                "turns gained / lost",
                "ms (128 tokens)",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
