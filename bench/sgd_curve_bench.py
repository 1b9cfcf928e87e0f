"""SGD on this CPU with the default recipe: all of its templated training turns, the time that
takes, accuracy by turn position, abstention, and a learning curve (issue 17 item 3).

For each training size (a seeded sample of SGD's templated training turns, or ``all``) the
default recipe of `python -m ranker train` runs unchanged: bf16 autocast where the CPU has it,
length-bucketed batches, the default token budget, one epoch from 20,000 examples, and the
backend choice, whose share of the time is printed. SGD dev is split by conversation, seeded:
about ``--cal-turns`` agent turns ("cal") are the dev set of training (temperature, threshold),
the rest ("report") is never seen by it. Printed per size, each against TF-IDF + a linear model
trained on the same turns (up to ``--tfidf-max-examples``, 8,000: beyond, its fit takes hours):

- top-1 and top-5 on the whole dev split (calibration changes no ranking; with one epoch it
  selects nothing either), by turn position;
- on the report part: precision of confident suggestions, coverage of template turns, and the
  share of free-text turns abstained.

    python bench/sgd_curve_bench.py --work /tmp/sgd-curve                  # 2k, 8k, 32k, all
    python bench/sgd_curve_bench.py --work /tmp/sgd-curve --sizes all      # about an hour here
    python bench/sgd_curve_bench.py --work /tmp/q --sizes 300 --dev-conversations 60 --cal-turns 200

Targets (issue 17): all turns within 60 minutes; top-1 >= 55% and top-5 >= 85%, >= 10 points
of top-1 above TF-IDF + LR; turns 4+ within 5 points of first turns; >= 60% of free-text turns
abstained with confident suggestions >= 90% precise. Figures end with one JSON line.
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

from bench.baselines import tfidf_lr  # noqa: E402
from bench.machine import describe_machine  # noqa: E402
from bench.tables import markdown_table, pct  # noqa: E402
from ranker.base_models import default_base_model  # noqa: E402
from ranker.data import (  # noqa: E402
    POSITIONS,
    iter_examples,
    position_bucket,
    read_catalog,
    read_conversations,
)
from ranker.evaluate import EvalConfig, evaluate  # noqa: E402
from ranker.metrics import topk_accuracy  # noqa: E402
from ranker.model import load_tokenizer  # noqa: E402
from ranker.train import TrainConfig, load_examples, train  # noqa: E402

DATA = Path(os.environ.get("ASSIST_DATASETS", ROOT.parent / "shared" / "datasets"))


def split_dev(
    dev: Path, work: Path, cal_turns: int, seed: int, conversations: int = 0
) -> tuple[Path, Path, Path]:
    """Seeded, by conversation: ``cal.jsonl`` (about ``cal_turns`` agent turns), ``report.jsonl``
    (the rest) and ``dev.jsonl`` (both), of all of dev or a sample of ``conversations``."""
    lines = dev.read_text("utf-8").splitlines()
    random.Random(seed).shuffle(lines)
    if conversations:
        lines = lines[:conversations]
    (work / "dev.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    cal: list[str] = []
    n_cal = 0
    while lines and n_cal < cal_turns:
        line = lines.pop()
        cal.append(line)
        n_cal += sum(1 for t in json.loads(line)["turns"][1:] if t["role"] == "agent")
    for name, part in (("cal", cal), ("report", lines)):
        (work / f"{name}.jsonl").write_text("\n".join(part) + "\n", "utf-8")
    return work / "cal.jsonl", work / "report.jsonl", work / "dev.jsonl"


def tfidf_by_position(cfg: TrainConfig, dev: Path, tokenizer: Any) -> tuple[dict[str, Any], float]:
    """TF-IDF + LR trained on the ranker's own training turns (contexts as the ranker reads
    them), scored on dev's template turns: top-1/top-5 overall and by position; fit seconds."""
    _, train_ex, _ = load_examples(cfg, tokenizer)
    index = {c.key: i for i, c in enumerate(read_catalog(cfg.catalog))}
    train_pairs = [(e.context, index[e.label]) for e in train_ex if e.label in index]
    test = [
        e
        for e in iter_examples(read_conversations(dev), tokenizer, cfg.max_tokens, cfg.max_messages)
        if e.label in index
    ]
    started = time.perf_counter()
    probs = tfidf_lr(
        [c for c, _ in train_pairs],
        np.array([y for _, y in train_pairs]),
        [e.context for e in test],
        len(index),
    )  # (n_test, labels)
    seconds = time.perf_counter() - started
    y = np.array([index[str(e.label)] for e in test])
    buckets = np.array([position_bucket(e.customer_turns) for e in test])
    out: dict[str, Any] = {"top1": topk_accuracy(probs, y, 1), "top5": topk_accuracy(probs, y, 5)}
    out["by_position"] = {
        b: {"top1": topk_accuracy(probs[sel], y[sel], 1), "n": int(sel.sum())}
        for b in POSITIONS
        if (sel := buckets == b).any()
    }
    return out, seconds


def run_size(
    args: argparse.Namespace, work: Path, size: str, cal: Path, dev: Path
) -> dict[str, Any]:
    sgd = Path(args.sgd)
    out = work / f"sgd-{size}"
    cfg = TrainConfig(
        data=str(sgd / "train.jsonl"),
        catalog=str(sgd / "catalog.csv"),
        out=str(out),
        dev=str(cal),
        max_examples=None if size == "all" else int(size),
        threads=args.threads,
        progress=not args.no_progress,
    )
    if not (args.reuse and (out / "ranker.json").exists()):
        train(cfg)
    meta = json.loads((out / "ranker.json").read_text())
    m = meta["metrics"]
    whole = evaluate(EvalConfig(model=str(out), data=str(dev), threads=args.threads))
    report = evaluate(EvalConfig(model=str(out), data=str(work / "report.jsonl"),
                                 threads=args.threads))  # fmt: skip
    tokenizer = load_tokenizer(default_base_model())
    tfidf, tfidf_seconds = (
        tfidf_by_position(cfg, dev, tokenizer)
        if m["n_train"] <= args.tfidf_max_examples
        else ({}, 0.0)
    )
    return {
        "size": size,
        "n_train": m["n_train"],
        "epochs": len(m["history"]),
        "autocast": m.get("autocast"),
        "backend": meta["backend"],
        "train_seconds": m["train_seconds"],
        "backend_choice_seconds": m.get("backend_choice_seconds"),
        "dev": {k: whole[k] for k in ("n", "top1", "top5", "ece", "by_position")},
        "report": {
            k: report[k]
            for k in ("n", "n_free", "confident_precision", "coverage_at_threshold", "abstain_rate")
        },
        "tfidf_lr": tfidf,
        "tfidf_fit_seconds": round(tfidf_seconds, 1),
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = ["size", "examples", "train + choice min", "backend (choice s)", "top-1", "top-5"]
    head += [f"top-1 @{p}" for p in POSITIONS]
    head += ["TF-IDF top-1", "TF-IDF @4+", "confident precision", "coverage", "free abstained"]
    body: list[list[str]] = []
    for r in rows:
        pos, tf = r["dev"]["by_position"], r["tfidf_lr"]
        total = r["train_seconds"] + (r["backend_choice_seconds"] or 0)
        cells = [r["size"], f"{r['n_train']:,}", f"{total / 60:.1f}"]
        cells.append(f"{r['backend']} ({r['backend_choice_seconds']})")
        cells += [pct(r["dev"]["top1"]), pct(r["dev"]["top5"])]
        cells += [pct(pos[p]["top1"]) if p in pos else "-" for p in POSITIONS]
        cells += [pct(tf.get("top1")), pct(tf.get("by_position", {}).get("4+", {}).get("top1"))]
        rep = r["report"]
        cells += [pct(rep["confident_precision"]), pct(rep["coverage_at_threshold"])]
        cells.append(pct(rep["abstain_rate"]))
        body.append(cells)
    return markdown_table(head, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sgd", default=str(DATA / "sgd"), help="SGD folder")
    parser.add_argument("--work", required=True, help="where splits and model directories go")
    parser.add_argument("--sizes", default="2000,8000,32000,all", help="training sizes, in order")
    parser.add_argument("--cal-turns", type=int, default=2000, help="dev turns training sees")
    parser.add_argument("--seed", type=int, default=13, help="seed of the dev split")
    parser.add_argument(
        "--dev-conversations", type=int, default=0, help="a seeded sample of dev (0: all)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument(
        "--tfidf-max-examples",
        type=int,
        default=8000,
        help="the TF-IDF + LR baseline only up to this many training turns: its multinomial "
        "fit over character n-grams grows with turns x 434 templates x iterations (hours on "
        "all of SGD on 2 cores)",
    )
    parser.add_argument("--reuse", action="store_true", help="reuse trained model directories")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {describe_machine()}", flush=True)
    cal, _, dev = split_dev(
        Path(args.sgd) / "dev.jsonl", work, args.cal_turns, args.seed, args.dev_conversations
    )
    rows = []
    for size in args.sizes.split(","):
        rows.append(run_size(args, work, size, cal, dev))
        print(json.dumps(rows[-1], sort_keys=True), flush=True)
        (work / "results.json").write_text(json.dumps(rows, indent=1, sort_keys=True))
    print(table(rows))
    print(f"machine: {describe_machine()}")
    print(json.dumps(rows, sort_keys=True))


if __name__ == "__main__":
    main()
