"""What serving every input length costs a backend: memory and each length's first ranking.

A worker meets contexts of every length from a few tokens to the model's budget. oneDNN compiles
bf16 kernels per input shape and keeps them, so the bf16 backend rounds lengths up to multiples
of ``ranker.serving.BF16_LENGTH_STEP`` and ``warm_up`` compiles each. This measures, in a fresh
process per variant (resident memory is per process): the model loaded and warmed, then three
passes over every length from 3 tokens to the budget, one ranking each. Pass 1 meets each length
for the first time; passes 2 and 3 show whether memory keeps growing.

    python bench/input_lengths_bench.py [--model-dir var/models/default] [--backends bf16,fp32]

Variants: ``exact`` (each length as it comes, the baseline) and ``rounded`` (padded to the
step, as the bf16 backend serves). One thread, as a worker serves.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import describe_machine, rss_mb
from tables import markdown_table

ROOT = Path(__file__).resolve().parents[1]


def measure(model_dir: str, backend: str, rounded: bool) -> dict[str, float]:
    """One fresh process: memory and per-pass ranking times over every length."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from ranker import Ranker
    from ranker.model import load_model_dir, torch_forward
    from ranker.serving import BF16_LENGTH_STEP, _lengths_rounded_up, apply_backend

    ranker = Ranker(model_dir, backend=backend, threads=1)
    if backend == "bf16" and not rounded:  # the same backend at the exact length
        model, _, _ = load_model_dir(model_dir)
        ranker._forward = torch_forward(apply_backend(model, "bf16"))
    elif backend != "bf16" and rounded:
        ranker._forward = _lengths_rounded_up(ranker._forward, BF16_LENGTH_STEP)
    ranker.warm_up()
    out = {"warmed_mb": rss_mb(os.getpid())}
    for n in (1, 2, 3):
        times = []
        for length in range(3, ranker.meta.max_tokens + 1):
            ids = np.array([[101] + [2000 + i % 500 for i in range(length - 2)] + [102]])
            start = time.perf_counter()
            ranker._forward(ids, np.ones_like(ids))  # (1, length)
            times.append(time.perf_counter() - start)
        out[f"pass{n}_mb"] = rss_mb(os.getpid())
        out[f"pass{n}_ms"] = 1e3 * statistics.mean(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=os.environ.get("RANKER_DIR", "var/models/default"))
    parser.add_argument("--backends", default="bf16,fp32,onnx-int8")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # backend, variant
    args = parser.parse_args()
    if args.child:
        backend, variant = args.child
        print(json.dumps(measure(args.model_dir, backend, variant == "rounded")))
        return

    print(f"# input lengths: {args.model_dir}; {describe_machine()}")
    rows = []
    for backend in args.backends.split(","):
        baseline = None
        for variant in ("exact", "rounded"):
            child = ["--model-dir", args.model_dir, "--child", backend, variant]
            result = subprocess.run(
                [sys.executable, __file__, *child],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "RANKER_THREADS": "1"},
            )
            r = json.loads(result.stdout.strip().splitlines()[-1])
            baseline = baseline or r
            rows.append(
                [
                    backend,
                    variant,
                    f"{r['warmed_mb']:.0f}",
                    f"+{r['pass1_mb'] - r['warmed_mb']:.0f}",
                    f"+{r['pass3_mb'] - r['pass1_mb']:.0f}",
                    f"{r['pass1_ms']:.1f}",
                    f"{r['pass3_ms']:.1f}",
                    f"{r['pass3_ms'] / baseline['pass3_ms']:.2f}x",
                ]
            )
    head = (
        "backend",
        "lengths",
        "warmed MB",
        "pass 1 adds MB",
        "passes 2-3 add MB",
        "pass 1 ms",
        "pass 3 ms",
        "pass 3 vs exact",
    )
    print(markdown_table(head, rows))


if __name__ == "__main__":
    main()
