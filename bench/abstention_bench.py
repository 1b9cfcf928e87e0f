"""The confidence threshold chosen with and without the free-text turns, compared (issue 17).

For a trained model directory: its calibrated probabilities (over all labels, as the panel shows
them) on a calibration file and on a report file, disjoint by conversation. For each precision
target, the threshold is chosen on the calibration turns as before (template turns only) and as
training now does (free-text turns included, counted as wrong when confident); each threshold is
then scored on the report turns: precision of confident suggestions (free-text turns included),
coverage of template turns, share of template turns with a confident right suggestion, share of
free-text turns abstained. No training: minutes.

    python bench/abstention_bench.py --model /tmp/h17/formats/newest-first_mean-l2 \\
        --cal /tmp/h17/formats/cal.jsonl --report /tmp/h17/formats/report.jsonl

Figures are printed as a table and, at the end, as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.tables import pct  # noqa: E402
from ranker.calibration import choose_threshold  # noqa: E402
from ranker.data import iter_examples, read_conversations  # noqa: E402
from ranker.metrics import open_set_metrics  # noqa: E402
from ranker.serving import Ranker  # noqa: E402

TARGETS = (0.5, 0.6, 0.7, 0.8, 0.9)


def shown_probabilities(ranker: Ranker, path: str) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``(n, labels)`` of every agent turn of ``path``, labels (-1: free text)."""
    meta = ranker.meta
    examples = list(
        iter_examples(
            read_conversations(path), ranker.tokenizer, meta.max_tokens, meta.max_messages
        )
    )
    index = ranker.label_index
    y = np.array([index.get(str(e.label), -1) for e in examples], dtype=np.int64)
    return ranker.predict([e.context for e in examples], renormalise=False), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model directory")
    parser.add_argument("--cal", required=True, help="conversations the thresholds are chosen on")
    parser.add_argument("--report", required=True, help="conversations they are scored on")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    ranker = Ranker(args.model, backend="fp32", threads=args.threads)
    cal_p, cal_y = shown_probabilities(ranker, args.cal)
    rep_p, rep_y = shown_probabilities(ranker, args.report)
    conf, right = cal_p.max(1), cal_p.argmax(1) == cal_y
    fit = cal_y >= 0
    rows: list[dict[str, Any]] = []
    for target in TARGETS:
        for how, sel in (("template turns", fit), ("all turns", np.ones_like(fit))):
            threshold = choose_threshold(conf[sel], right[sel], target)
            rows.append(
                {
                    "target": target,
                    "chosen_on": how,
                    "threshold": threshold,
                    **open_set_metrics(rep_p, rep_y, threshold),
                }
            )
    head = "| target | chosen on | threshold | confident precision | coverage | confident & right"
    print(head + " | free-text abstained |\n|" + " --- |" * 7)
    for r in rows:
        print(
            f"| {r['target']} | {r['chosen_on']} | {r['threshold']:.3f} | "
            f"{pct(r['confident_precision'])} | {pct(r['coverage'])} | "
            f"{pct(r['confident_correct'])} | {pct(r['no_fit_abstained'])} |"
        )
    print(
        json.dumps(
            {
                "model": args.model,
                "saved_threshold": ranker.threshold,
                "n_cal": len(cal_y),
                "n_report": len(rep_y),
                "rows": rows,
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
