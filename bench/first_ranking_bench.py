"""The first ranking after a worker loads a model, cold and warmed (`Ranker.warm_up`).

Each variant runs in a fresh process, as a worker starting up does: load the model directory,
optionally warm it up, then time the first ranking of a real context and the median of the
next `--repeat`. The figure to read is first / median: 1.0 means the first customer after a
start (or a hot swap) waits no longer than anyone else.

    python bench/first_ranking_bench.py [--model-dir var/models/default] [--backend onnx-int8]

No database: the ranker package alone, on one thread as a worker serves.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import describe_machine

ROOT = Path(__file__).resolve().parents[1]

TURNS = [
    ("customer", "hi, my new card still hasn't arrived and it's been two weeks"),
    ("agent", "Sorry to hear that. Let me check the delivery for you."),
    ("customer", "also I think I was charged twice for the same coffee yesterday"),
]


def measure(model_dir: str, backend: str | None, warm: bool, repeat: int) -> dict[str, float]:
    """One fresh process's load, warm-up and ranking times (seconds)."""
    sys.path.insert(0, str(ROOT))
    from ranker import Ranker

    start = time.perf_counter()
    ranker = Ranker(model_dir, backend=backend, threads=1)
    loaded = time.perf_counter()
    if warm:
        ranker.warm_up()
    warmed = time.perf_counter()
    context = ranker.build_context(TURNS)
    times = []
    for _ in range(repeat + 1):
        t = time.perf_counter()
        ranker.rank([context], k=5)
        times.append(time.perf_counter() - t)
    return {
        "load_s": loaded - start,
        "warm_up_s": warmed - loaded,
        "first_s": times[0],
        "median_s": statistics.median(times[1:]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=os.environ.get("RANKER_DIR", "var/models/default"))
    parser.add_argument("--backend", default=None, help="default: the model directory's own")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per variant")
    parser.add_argument("--child", choices=["cold", "warm"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(args.model_dir, args.backend, args.child == "warm", args.repeat)
        print(json.dumps(result))
        return

    print(f"machine: {describe_machine()}")
    backend = args.backend or "the model directory's"
    print(f"model: {args.model_dir}; backend: {backend}")
    header = ("variant", "load s", "warm-up s", "first ms", "median ms", "first/median")
    print(f"{header[0]:<8}" + "".join(f"{h:>13}" for h in header[1:]))
    for variant in ("cold", "warm"):
        runs = []
        for _ in range(args.runs):
            command = [
                sys.executable,
                __file__,
                "--child",
                variant,
                "--model-dir",
                args.model_dir,
                "--repeat",
                str(args.repeat),
            ]
            if args.backend:
                command += ["--backend", args.backend]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
        row = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        cells = (
            f"{row['load_s']:.2f}",
            f"{row['warm_up_s']:.2f}",
            f"{row['first_s'] * 1e3:.1f}",
            f"{row['median_s'] * 1e3:.1f}",
            f"{row['first_s'] / row['median_s']:.1f}",
        )
        print(f"{variant:<8}" + "".join(f"{c:>13}" for c in cells))


if __name__ == "__main__":
    main()
