"""Re-time members of a finished scaling study with another serving backend.

The study times every architecture with one backend (``--backend``, PyTorch fp32 by default);
the product serves the backend chosen per model at training time, usually ONNX Runtime. This
repeats the study's own open-loop measurement (``ranker.scaling.latency.member_latency``: Poisson
arrivals at each of the study's rates, queueing included) for the members named, and writes
``OUT/latency_<backend>.json`` beside the study's results:

    python bench/scaling_retime.py --out /tmp/rk/scaling_sgd --backend onnx L4 L6
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ranker.base_models import default_base_model
from ranker.data import read_catalog
from ranker.model import load_tokenizer
from ranker.scaling.latency import member_latency
from ranker.scaling.study import load_study_config, prepare_splits, validation_set
from ranker.serving import Ranker
from ranker.utils import write_json_atomic


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", required=True, help="the study's output directory")
    parser.add_argument("--backend", default="onnx")
    parser.add_argument("members", nargs="+", help="member names, e.g. L4 L6")
    args = parser.parse_args()
    out = Path(args.out)
    cfg = dataclasses.replace(load_study_config(out), backend=args.backend)
    tokenizer = load_tokenizer(cfg.base_model or default_base_model())
    labels = [c.key for c in read_catalog(cfg.catalog)]
    val = validation_set(prepare_splits(cfg, out)[1], tokenizer, labels, cfg)
    results = {}
    for name in args.members:
        ranker = Ranker(
            str(out / "runs" / name / "model"), backend=args.backend, threads=cfg.threads
        )
        results[name] = member_latency(cfg, ranker, val.contexts)
        rates = ", ".join(
            f"{rps} rps p50 {m['p50_ms']:.1f} / p99 {m['p99_ms']:.1f} ms"
            for rps, m in results[name].items()
        )
        print(f"{name} ({args.backend}, {cfg.threads} thread(s)): {rates}", flush=True)
    write_json_atomic(out / f"latency_{args.backend}.json", results)


if __name__ == "__main__":
    main()
