"""New templates on SGD: hold templates out of training, then ask for them on dev.

Ten templates (seeded, among those with at least 10 dev turns) are removed from the catalog the
ranker is trained with, so the classifier has no output for them; their training turns become
free text. On dev, for each turn whose template is held out, the figure is the share of turns
where it appears in the top 5: the classifier alone scores 0 by construction, the blend with the
base-encoder retriever (ranker/retriever.py) scores what this prints. The same blend's effect on
ordinary dev turns (held-in templates) is printed beside it, so its cost shows too.

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
from ranker.retriever import TemplateRetriever, blend_new_templates, template_text  # noqa: E402
from ranker.train import TrainConfig, train  # noqa: E402

DATA = Path(os.environ.get("ASSIST_DATASETS", ROOT.parent / "shared" / "datasets")) / "sgd"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--held-out", type=int, default=10)
    parser.add_argument("--max-examples", type=int, default=2000, help="training cap")
    parser.add_argument("--dev-conversations", type=int, default=400, help="seeded dev sample")
    parser.add_argument("--ordinary", type=int, default=300, help="held-in dev turns to check")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", help="reuse a model trained without the held-out templates")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    catalog = read_catalog(DATA / "catalog.csv")
    dev = read_conversations(DATA / "dev.jsonl")
    rng.shuffle(dev)
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
    # The retriever scores every template of the catalog, known and held out.
    texts = {c.key: template_text(c.title, c.body) for c in catalog}
    keys = sorted(texts)

    examples = [
        e
        for e in iter_examples(dev, ranker.tokenizer, ranker.meta.max_tokens)
        if e.label is not None
    ]
    new_turns = [e for e in examples if e.label in held_out]
    ordinary = [e for e in examples if e.label not in held_out and e.label in ranker.label_index]
    ordinary = rng.sample(ordinary, min(args.ordinary, len(ordinary)))

    def top(example_list: list, blend: bool) -> tuple[float, float]:
        hits1 = hits5 = 0
        for e in example_list:
            ranked = ranker.rank([e.context], k=len(ranker.labels))[0]
            if blend:
                similarities = retriever.similarities([e.context], [texts[k] for k in keys])[0]
                ranked = blend_new_templates(
                    ranked, dict(zip(keys, similarities.tolist(), strict=True)), k=5
                )
            shown = [key for key, _ in ranked[:5]]
            hits1 += shown[:1] == [e.label]
            hits5 += e.label in shown
        n = max(len(example_list), 1)
        return hits1 / n, hits5 / n

    print(f"dev: {len(dev)} conversations; {len(new_turns)} turns of held-out templates, "
          f"{len(ordinary)} ordinary turns")  # fmt: skip
    print(f"{'':<34}{'classifier alone':>18}{'with retrieval':>16}")
    new_alone, new_blend = top(new_turns, False), top(new_turns, True)
    old_alone, old_blend = top(ordinary, False), top(ordinary, True)
    print(f"{'held-out templates: in top 5':<34}{new_alone[1]:>18.1%}{new_blend[1]:>16.1%}")
    print(f"{'held-out templates: top 1':<34}{new_alone[0]:>18.1%}{new_blend[0]:>16.1%}")
    print(f"{'ordinary turns: top 5':<34}{old_alone[1]:>18.1%}{old_blend[1]:>16.1%}")
    print(f"{'ordinary turns: top 1':<34}{old_alone[0]:>18.1%}{old_blend[0]:>16.1%}")


if __name__ == "__main__":
    main()
