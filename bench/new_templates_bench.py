"""New templates on SGD: hold templates out of training, then ask for them on dev.

Ten templates (seeded, among those with at least 10 dev turns) are removed from the catalog the
ranker is trained with, so the classifier has no output for them; their training turns become
free text. On dev, for each turn whose template is held out, the figure is the share of turns
where it appears in the top 5: the classifier alone scores 0 by construction, the blend with the
base-encoder retriever (ranker/retriever.py) scores what this prints. The same blend's effect on
ordinary dev turns (held-in templates) is printed beside it, so its cost shows too.

The blend's weight is swept on one sample of dev conversations ("tune") and the figures are
reported on another ("report"), so the chosen weight is not fitted to the numbers it reports.

    python bench/new_templates_bench.py [--held-out 10] [--max-examples 2000] [--model DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ranker import Ranker  # noqa: E402
from ranker.data import iter_examples, read_catalog, read_conversations  # noqa: E402
from ranker.metrics import ranked_topk_accuracy  # noqa: E402
from ranker.retriever import TemplateRetriever, blend_new_templates, template_text  # noqa: E402
from ranker.train import TrainConfig, train  # noqa: E402

DATA = Path(os.environ.get("ASSIST_DATASETS", ROOT.parent / "shared" / "datasets")) / "sgd"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--held-out", type=int, default=10)
    parser.add_argument("--max-examples", type=int, default=2000, help="training cap")
    parser.add_argument("--dev-conversations", type=int, default=400, help="report sample")
    parser.add_argument("--tune-conversations", type=int, default=200, help="weight sweep sample")
    parser.add_argument("--weights", default="2,1,0.5,0.25")
    parser.add_argument("--ordinary", type=int, default=300, help="held-in dev turns to check")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", help="reuse a model trained without the held-out templates")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    catalog = read_catalog(DATA / "catalog.csv")
    dev = read_conversations(DATA / "dev.jsonl")
    rng.shuffle(dev)
    tune = dev[args.dev_conversations : args.dev_conversations + args.tune_conversations]
    dev = dev[: args.dev_conversations]
    dev_counts = Counter(
        t.template for c in dev for t in c.turns if t.role == "agent" and t.template
    )
    candidates = sorted(key for key, n in dev_counts.items() if n >= 10)
    held_out = set(rng.sample(candidates, args.held_out))
    print(f"held out of training: {sorted(held_out)}")

    work = Path(tempfile.mkdtemp(prefix="new-templates-"))
    model_dir = args.model
    if model_dir is None:
        with (DATA / "catalog.csv").open(encoding="utf-8") as src:
            rows = [row for row in csv.DictReader(src) if row["key"] not in held_out]
        with (work / "catalog.csv").open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        started = time.monotonic()
        model_dir = str(work / "model")
        # The fast recipe (head over the frozen encoder): the figure is about the retriever.
        train(
            TrainConfig(
                data=str(DATA / "train.jsonl"),
                catalog=str(work / "catalog.csv"),
                out=model_dir,
                max_examples=args.max_examples,
                freeze_encoder=True,
                epochs=40,
                backend="fp32",
                threads=args.threads,
                seed=args.seed,
            )
        )
        print(f"trained in {time.monotonic() - started:.0f} s (frozen encoder, head only)")
    ranker = Ranker.load(model_dir, backend="fp32", threads=args.threads)
    assert not held_out & set(ranker.labels), "the model knows a held-out template"
    retriever = TemplateRetriever(ranker.meta.base_model, threads=args.threads)
    texts = {c.key: template_text(c.title, c.body) for c in catalog}

    all_keys = sorted(texts)
    all_texts = [texts[key] for key in all_keys]

    def scored(conversations: list) -> tuple[list, list]:
        """(held-out turns, ordinary turns), each as (label, full ranking, new similarities)."""
        examples = [
            e
            for e in iter_examples(conversations, ranker.tokenizer, ranker.meta.max_tokens)
            if e.label is not None
        ]
        new = [e for e in examples if e.label in held_out]
        ordinary = [e for e in examples if e.label in ranker.label_index]
        ordinary = rng.sample(ordinary, min(args.ordinary, len(ordinary)))
        out = []
        for group in (new, ordinary):
            rows = []
            for e in group:
                ranked = ranker.rank([e.context], k=len(ranker.labels))[0]
                similarities = retriever.similarities([e.context], all_texts)[0].tolist()
                rows.append((e.label, ranked, dict(zip(all_keys, similarities, strict=True))))
            out.append(rows)
        return out[0], out[1]

    def hits(rows: list, weight: float | None) -> tuple[float, float]:
        """Top-1 and top-5 hit rates; weight None: the classifier alone."""
        shown = [
            [
                key
                for key, _ in (
                    ranked[:5]
                    if weight is None
                    else blend_new_templates(ranked, similarities, held_out, k=5, weight=weight)
                )
            ]
            for _, ranked, similarities in rows
        ]
        labels = [label for label, _, _ in rows]
        return ranked_topk_accuracy(shown, labels, 1), ranked_topk_accuracy(shown, labels, 5)

    weights = [float(w) for w in args.weights.split(",")]
    tune_new, tune_ordinary = scored(tune)
    print(f"tune: {len(tune)} conversations; weight sweep (top 5: held-out / ordinary)")
    alone = hits(tune_ordinary, None)[1]
    best, best_score = min(weights), -1.0  # if no weight keeps within 2 points: the smallest
    for weight in weights:
        new5, old5 = hits(tune_new, weight)[1], hits(tune_ordinary, weight)[1]
        # Chosen: the best held-out recall that costs ordinary top-5 at most 2 points.
        score = new5 if old5 >= alone - 0.02 else -1.0
        print(f"  weight {weight:<5g} {new5:>6.1%} / {old5:.1%} (classifier alone {alone:.1%})")
        if score > best_score:
            best, best_score = weight, score
    print(f"chosen weight: {best:g} (best held-out top 5 within 2 points of ordinary top 5)")

    new_rows, ordinary_rows = scored(dev)
    print(f"report: {len(dev)} other dev conversations; {len(new_rows)} turns of held-out "
          f"templates, {len(ordinary_rows)} ordinary turns")  # fmt: skip
    print(f"{'':<34}{'classifier alone':>18}{f'blend, weight {best:g}':>20}")
    for name, rows in (("held-out templates", new_rows), ("ordinary turns", ordinary_rows)):
        a, b = hits(rows, None), hits(rows, best)
        print(f"{name + ': in top 5':<34}{a[1]:>18.1%}{b[1]:>20.1%}")
        print(f"{name + ': top 1':<34}{a[0]:>18.1%}{b[0]:>20.1%}")


if __name__ == "__main__":
    main()
