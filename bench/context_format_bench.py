"""Context formats compared on SGD dev by turn position, at an equal training budget (issue 17).

Each variant (a context format and a pooling) is trained with the same arguments: the same seeded
sample of SGD training turns, the same token budget, epochs and seed; its dev part for early
stopping, the temperature and the confidence threshold is one seeded half of SGD dev's
conversations ("cal"), and it is scored on the other ("report", free-text turns included) with
``python -m ranker evaluate``'s figures: top-k by turn position (after the 1st customer message,
the 2nd-3rd, the 4th and later), precision of confident suggestions, coverage, and the share of
free-text turns abstained. The report half never informs training or calibration. Then each
variant against the first on the same turns (McNemar's exact test of their top-1).

    python bench/context_format_bench.py --work /tmp/h17/formats            # ~70 min here
    python bench/context_format_bench.py --work /tmp/h17/formats --freeze-encoder   # minutes

Figures are printed as a table and, at the end, as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from scipy.stats import binomtest  # noqa: E402

from bench.tables import markdown_table, pct  # noqa: E402
from ranker.data import (  # noqa: E402
    POSITIONS,
    Conversation,
    iter_examples,
    position_bucket,
    read_conversations,
)
from ranker.evaluate import EvalConfig, evaluate  # noqa: E402
from ranker.serving import Ranker  # noqa: E402
from ranker.train import TrainConfig, train  # noqa: E402

DATA = Path(os.environ.get("ASSIST_DATASETS", ROOT.parent / "shared" / "datasets"))
VARIANTS = "oldest-first:mean+l2,newest-first:mean+l2,newest-first:mean+newest+l2"


def _agent_turns(conv: Conversation) -> int:
    return sum(1 for i, t in enumerate(conv.turns) if t.role == "agent" and i > 0)


def _write(convs: list[Conversation], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for c in convs:
            turns = [{"role": t.role, "text": t.text, "template": t.template} for t in c.turns]
            f.write(json.dumps({"id": c.id, "turns": turns}) + "\n")


def split_dev(dev: Path, work: Path, report_turns: int, cal_turns: int, seed: int) -> None:
    """Seeded, by conversation: ``report.jsonl`` (about ``report_turns`` agent turns) and
    ``cal.jsonl`` (about ``cal_turns``), disjoint."""
    convs = read_conversations(dev)
    random.Random(seed).shuffle(convs)
    report: list[Conversation] = []
    cal: list[Conversation] = []
    n_report = n_cal = 0
    for conv in convs:
        if n_report < report_turns:
            report.append(conv)
            n_report += _agent_turns(conv)
        elif n_cal < cal_turns:
            cal.append(conv)
            n_cal += _agent_turns(conv)
    _write(report, work / "report.jsonl")
    _write(cal, work / "cal.jsonl")


def run_variant(args: argparse.Namespace, work: Path, name: str) -> dict[str, Any]:
    context_format, pooling = name.split(":")
    out = _model_dir(work, name)
    done = out / "ranker.json"
    train_seconds = None
    if not (args.reuse and done.exists()):
        started = time.perf_counter()
        train(
            TrainConfig(
                data=str(Path(args.sgd) / "train.jsonl"),
                catalog=str(Path(args.sgd) / "catalog.csv"),
                out=str(out),
                dev=str(work / "cal.jsonl"),
                max_examples=args.max_examples,
                max_tokens=args.max_tokens,
                epochs=args.epochs,
                seed=args.seed,
                context_format=context_format,
                pooling=pooling,
                freeze_encoder=args.freeze_encoder,
                frozen_layers=args.frozen_layers,
                backend="fp32",
                threads=args.threads,
                progress=not args.no_progress,
            )
        )
        train_seconds = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    result = evaluate(
        EvalConfig(model=str(out), data=str(work / "report.jsonl"), backend="fp32",
                   threads=args.threads)
    )  # fmt: skip
    result["eval_seconds"] = round(time.perf_counter() - started, 1)
    result["train_seconds"] = train_seconds
    result["variant"] = name
    return result


def _model_dir(work: Path, name: str) -> Path:
    return work / name.replace(":", "_").replace("+", "-")


def top1_hits(work: Path, name: str, threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Per report template turn: top-1 right or not, and its position bucket."""
    ranker = Ranker(_model_dir(work, name), backend="fp32", threads=threads)
    convs = read_conversations(work / "report.jsonl")
    meta = ranker.meta
    examples = [
        e
        for e in iter_examples(convs, ranker.tokenizer, meta.max_tokens, meta.max_messages)
        if e.label in ranker.label_index
    ]
    y = np.array([ranker.label_index[str(e.label)] for e in examples])
    right = ranker.predict([e.context for e in examples]).argmax(1) == y
    return right, np.array([position_bucket(e.customer_turns) for e in examples])


def paired(work: Path, names: list[str], threads: int) -> dict[str, Any]:
    """Each variant against the first on the same report turns: turns only it gets right, turns
    only the first gets right, and the exact McNemar p-value (test-sample noise only; one
    training seed)."""
    base, positions = top1_hits(work, names[0], threads)
    out: dict[str, Any] = {}
    for name in names[1:]:
        right, _ = top1_hits(work, name, threads)
        for bucket in ("all", *POSITIONS):
            sel = np.ones_like(base) if bucket == "all" else positions == bucket
            wins, losses = int((right & ~base & sel).sum()), int((~right & base & sel).sum())
            p = binomtest(wins, wins + losses).pvalue if wins + losses else 1.0
            out[f"{name} vs {names[0]} @{bucket}"] = {
                "n": int(sel.sum()),
                "only_this_right": wins,
                "only_first_right": losses,
                "mcnemar_p": round(float(p), 4),
            }
    return out


def table(results: list[dict[str, Any]]) -> str:
    head = ["variant", "train s", "top-1", "top-5"]
    head += [f"top-1 @{p} (n)" for p in POSITIONS]
    head += ["confident precision", "coverage", "confident & right", "free-text abstained"]
    body: list[list[str]] = []
    for r in results:
        pos = r["by_position"]
        row = [r["variant"], str(r["train_seconds"]), pct(r["top1"]), pct(r["top5"])]
        row += [f"{pct(pos[p]['top1'])} ({pos[p]['n']})" if p in pos else "-" for p in POSITIONS]
        row += [pct(r["confident_precision"]), pct(r["coverage_at_threshold"])]
        row += [pct(r["confident_correct"]), pct(r["abstain_rate"])]
        body.append(row)
    return markdown_table(head, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sgd", default=str(DATA / "sgd"), help="SGD folder")
    parser.add_argument("--work", required=True, help="where splits and model directories go")
    parser.add_argument("--variants", default=VARIANTS, help="format:pooling, comma-separated")
    parser.add_argument("--max-examples", type=int, default=3000, help="training turns")
    parser.add_argument("--max-tokens", type=int, default=128, help="context token budget")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs")
    parser.add_argument("--seed", type=int, default=13, help="seed of sampling, split, weights")
    parser.add_argument("--report-turns", type=int, default=1500, help="report split's size")
    parser.add_argument("--cal-turns", type=int, default=2000, help="cal split's size")
    parser.add_argument("--freeze-encoder", action="store_true", help="train the head only")
    parser.add_argument(
        "--frozen-layers", type=int, default=0, help="bottom layers kept as pretrained"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--reuse", action="store_true", help="reuse trained model directories")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    split_dev(Path(args.sgd) / "dev.jsonl", work, args.report_turns, args.cal_turns, args.seed)
    results = []
    for name in args.variants.split(","):
        results.append(run_variant(args, work, name))
        print(json.dumps(results[-1], sort_keys=True), flush=True)
        (work / "results.json").write_text(json.dumps(results, indent=1, sort_keys=True))
    print(table(results))
    names = args.variants.split(",")
    tests = paired(work, names, args.threads) if len(names) > 1 else {}
    for key, figures in tests.items():
        print(key, figures)
    print(json.dumps({"variants": results, "paired": tests, "args": vars(args)}, sort_keys=True))


if __name__ == "__main__":
    main()
