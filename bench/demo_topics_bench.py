"""The demo model of `make run`: how well it ranks the first topic of a chat and the later ones.

Trains the default model exactly as `make run` does (`manage.py migrate`, `seed_demo`,
`ensure_model` on a fresh SQLite database, with the local settings), timing `ensure_model`
(wall clock and CPU time of the process), then ranks held-out generated chats as the live path
does (the context up to each agent turn, the calibrated probabilities over every template) and
prints top-1 / top-5 for the agent turns that answer the chat's first topic, its second, and its
third, beside the greetings and closings.

A topic is a template that answers a customer's problem (not a greeting, a closing or an identity
or card check); the first, second and third distinct ones of a chat are its topics 1, 2 and 3.
The held-out chats come from the generator of this checkout with another seed than the demo's
(the phrasings are shared, the conversations are not).

    python bench/demo_topics_bench.py                            # train here (minutes), then rank
    python bench/demo_topics_bench.py --tree /tmp/old-checkout   # train an older checkout's demo
    python bench/demo_topics_bench.py --model var/models/default # rank with a trained model

Figures are printed as a table and, at the end, as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assist.demo.generator import generate_conversations  # noqa: E402
from bench.machine import describe_machine  # noqa: E402

TOPIC_FREE = ("greeting.", "closing.", "verification.identity_check", "verification.card_last4")
GROUPS = ("topic 1", "topic 2", "topic 3", "greeting/closing", "all templates")


def train_demo_model(tree: Path, work: Path) -> tuple[Path, dict[str, Any]]:
    """`make run`'s steps in ``tree`` on a fresh database under ``work``; the model and timings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "RANKER_DIR"}
    }
    model = work / "model"
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{work / 'db.sqlite3'}",
        RANKER_DIR=str(model),
        MODEL_ARTIFACTS_ROOT=str(work / "artifacts"),
        MODEL_CACHE_DIR=str(work / "model-cache"),
        HF_HUB_OFFLINE="1",
    )

    def manage(*args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=tree,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    manage("migrate", "--noinput")
    manage("seed_demo")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    manage("ensure_model")
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    timing = {
        "ensure_model_wall_s": round(wall, 1),
        "ensure_model_cpu_s": round(cpu, 1),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }
    return model, timing


def _groups(turns: list[dict[str, Any]], index: int, topics: list[str]) -> list[str]:
    key = turns[index]["template"]
    if key.startswith(("greeting.", "closing.")):
        return ["greeting/closing", "all templates"]
    if key in topics:
        return [f"topic {min(topics.index(key) + 1, 3)}", "all templates"]
    return ["all templates"]


def evaluate(model_dir: Path, n: int, seed: int) -> dict[str, dict[str, float]]:
    """Top-1 / top-5 per group on ``n`` held-out chats, ranked as the live path ranks."""
    from ranker.serving import Ranker

    ranker = Ranker(model_dir, threads=int(os.environ.get("RANKER_THREADS", "1")))
    contexts: list[str] = []
    targets: list[tuple[str, list[str]]] = []
    for conv in generate_conversations(n, seed=seed):
        turns = conv["turns"]
        topics: list[str] = []
        for turn in turns:
            key = turn.get("template")
            if key and not key.startswith(TOPIC_FREE) and key not in topics:
                topics.append(key)
        for i, turn in enumerate(turns):
            if turn["role"] != "agent" or not turn.get("template") or i == 0:
                continue
            contexts.append(ranker.build_context([(t["role"], t["text"]) for t in turns[:i]]))
            targets.append((turn["template"], _groups(turns, i, topics)))
    ranked = ranker.rank(contexts, k=5, renormalise=False)
    hits: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for (key, groups), items in zip(targets, ranked, strict=True):
        keys = [k for k, _ in items]
        for group in groups:
            hits[group].append((keys[:1] == [key], key in keys))
    return {
        group: {
            "n": len(hits[group]),
            "top1": round(100 * sum(a for a, _ in hits[group]) / max(len(hits[group]), 1), 1),
            "top5": round(100 * sum(b for _, b in hits[group]) / max(len(hits[group]), 1), 1),
        }
        for group in GROUPS
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout whose demo is trained")
    parser.add_argument("--model", type=Path, help="rank with this model directory, no training")
    parser.add_argument("--n", type=int, default=300, help="held-out chats (300)")
    parser.add_argument("--seed", type=int, default=1000, help="their seed (the demo's is 0)")
    args = parser.parse_args(argv)

    print(describe_machine(), flush=True)
    timing: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="demo-topics-") as folder:
        model = args.model
        if model is None:
            model, timing = train_demo_model(args.tree.resolve(), Path(folder))
            print(
                f"ensure_model: {timing['ensure_model_wall_s']} s wall, "
                f"{timing['ensure_model_cpu_s']} s CPU (load {timing['load_before']} before, "
                f"{timing['load_after']} after)",
                flush=True,
            )
        meta = json.loads((model / "ranker.json").read_text())
        figures = evaluate(model, args.n, args.seed)
    print(f"model: {meta['metrics'].get('n_train')} training turns, backend {meta['backend']}")
    print(f"{'agent turns':<18}{'n':>6}{'top-1':>8}{'top-5':>8}")
    for group, row in figures.items():
        print(f"{group:<18}{row['n']:>6}{row['top1']:>8.1f}{row['top5']:>8.1f}")
    print(
        json.dumps(
            {
                "machine": describe_machine(),
                "tree": str(args.tree),
                "n_train": meta["metrics"].get("n_train"),
                "backend": meta["backend"],
                **timing,
                **figures,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
