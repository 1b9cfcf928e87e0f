"""What the English demo model does with Spanish and German customers (issue 22 item 4).

The test set is assist/demo/multilingual_eval.json: about a hundred customer messages written
for this project, the same request in English, Spanish and German, each with the demo
catalog's template key an agent would answer with. It is small and hand-made: read its figures
as a rough check, not as a benchmark.

The model is the one `make run` serves by default (assist/management/commands/ensure_model.py):
all-MiniLM-L6-v2 (English), frozen, with a head trained on the demo's generated conversations
(English). Each message is ranked alone, as the first customer turn of a conversation, and
top-1 and top-5 are counted against its key, per language.

    python bench/multilingual_bench.py --work /tmp/multilingual      # about 2 minutes here
    python bench/multilingual_bench.py --model var/models/default     # a trained model instead

Figures are printed as a table and, at the end, as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assist.demo.generator import CATALOG_PATH, generate_conversations, write_jsonl  # noqa: E402
from bench.machine import describe_machine  # noqa: E402

EVAL = ROOT / "assist" / "demo" / "multilingual_eval.json"


def train_demo_model(work: Path, *, conversations: int, epochs: int, seed: int) -> Path:
    """The default model's recipe (ensure_model) on the demo's generated conversations."""
    from ranker.train import TrainConfig, train

    data = work / "demo.jsonl"
    write_jsonl(generate_conversations(conversations, seed=seed), data)
    out = work / "model"
    train(
        TrainConfig(
            data=str(data),
            catalog=str(CATALOG_PATH),
            out=str(out),
            epochs=epochs,
            max_tokens=128,
            freeze_encoder=True,
            backend="fp32",
            progress=False,
            seed=seed,
        )
    )
    return out


def measure(model_dir: Path, items: list[dict[str, Any]], languages: list[str]) -> dict[str, Any]:
    from ranker import Ranker

    ranker = Ranker(model_dir, backend="fp32", threads=1)
    known = [item for item in items if item["key"] in ranker.label_index]
    results: dict[str, Any] = {}
    for language in languages:
        contexts = [ranker.build_context([("customer", item[language])]) for item in known]
        ranked = ranker.rank(contexts, k=5, renormalise=False)
        top1 = sum(row[0][0] == item["key"] for row, item in zip(ranked, known, strict=True))
        top5 = sum(
            item["key"] in [key for key, _ in row] for row, item in zip(ranked, known, strict=True)
        )
        confident = sum(row[0][1] >= ranker.threshold for row in ranked) if ranker.threshold else 0
        results[language] = {
            "n": len(known),
            "top1": round(top1 / len(known), 3),
            "top5": round(top5 / len(known), 3),
            # How often the model would mark its first suggestion "confident" (the threshold
            # fitted on English dev data): confidence it has not earned in another language.
            "confident_rate": round(confident / len(known), 3),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a trained model directory to measure")
    parser.add_argument("--work", type=Path, default=Path("/tmp/multilingual_bench"))
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    doc = json.loads(EVAL.read_text(encoding="utf-8"))
    items, languages = doc["items"], doc["languages"]
    started = time.monotonic()
    model_dir = args.model
    if model_dir is None:
        args.work.mkdir(parents=True, exist_ok=True)
        model_dir = train_demo_model(
            args.work, conversations=args.conversations, epochs=args.epochs, seed=args.seed
        )
    results = measure(model_dir, items, languages)
    print(f"machine: {describe_machine()}")
    print(f"model: {model_dir}  test set: {EVAL.relative_to(ROOT)} ({len(items)} messages)")
    print(f"{'language':<10}{'n':>5}{'top-1':>8}{'top-5':>8}{'confident':>11}")
    for language, row in results.items():
        print(
            f"{language:<10}{row['n']:>5}{row['top1']:>8.3f}{row['top5']:>8.3f}"
            f"{row['confident_rate']:>11.3f}"
        )
    print(f"seconds: {time.monotonic() - started:.0f}")
    print(json.dumps({"model": str(model_dir), "results": results}))


if __name__ == "__main__":
    main()
