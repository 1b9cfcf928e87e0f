"""What scrubbing personal data costs (assist/lifecycle/pii.py): the analyzer's one-time load and
the time per message, with and without the conversation's known names.

Messages are the demo generator's conversations (customer and agent turns, names filled in), so
the lengths and the mix are those of a support chat. Each message is scrubbed once after a
warm-up; the figures are the per-message latency (mean, p50, p95, p99) and the throughput of one
process; then the training export's way, one batch per conversation. No database: a minute.

    python bench/pii_bench.py [--conversations 200] [--seed 3]

Figures are printed as a table and, at the end, as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assist.demo.generator import generate_conversations  # noqa: E402
from assist.lifecycle.pii import pii_scrub, pii_scrub_many  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # Presidio logs each recogniser it loads

    conversations = generate_conversations(args.conversations, seed=args.seed)
    messages = [
        (turn["text"], [conversation.get("customer_name") or ""])
        for conversation in conversations
        for turn in conversation["turns"]
        if turn.get("text")
    ]

    started = time.perf_counter()
    pii_scrub("load the analyzer")
    load_s = time.perf_counter() - started
    for text, _ in messages[:20]:  # warm-up: first-call costs of spaCy's pipes
        pii_scrub(text)

    figures: dict[str, object] = {
        "messages": len(messages),
        "mean_chars": round(statistics.mean(len(text) for text, _ in messages), 1),
        "load_s": round(load_s, 2),
    }
    print(f"{len(messages)} messages, {figures['mean_chars']} characters on average")
    print(f"analyzer load (once per process): {load_s:.2f} s")
    print(f"{'case':<14} {'mean ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'msg/s':>8}")
    for case, with_names in (("no names", False), ("known names", True)):
        timings = []
        for text, names in messages:
            started = time.perf_counter()
            pii_scrub(text, known_names=names if with_names else ())
            timings.append((time.perf_counter() - started) * 1000)
        row = {
            "mean_ms": round(statistics.mean(timings), 2),
            "p50_ms": round(percentile(timings, 0.5), 2),
            "p95_ms": round(percentile(timings, 0.95), 2),
            "p99_ms": round(percentile(timings, 0.99), 2),
            "per_s": round(1000 * len(timings) / sum(timings), 1),
        }
        figures[case.replace(" ", "_")] = row
        print(
            f"{case:<14} {row['mean_ms']:>8} {row['p50_ms']:>8} {row['p95_ms']:>8} "
            f"{row['p99_ms']:>8} {row['per_s']:>8}"
        )
    # The training export's way: one batch per conversation, known names included.
    started = time.perf_counter()
    for conversation in conversations:
        pii_scrub_many(
            [turn["text"] for turn in conversation["turns"] if turn.get("text")],
            known_names=[conversation.get("customer_name") or ""],
        )
    batched_ms = (time.perf_counter() - started) * 1000 / len(messages)
    figures["per_conversation_batch"] = {
        "mean_ms": round(batched_ms, 2),
        "per_s": round(1000 / batched_ms, 1),
    }
    print(
        f"{'export batch':<14} {round(batched_ms, 2):>8} {'':>8} {'':>8} {'':>8} "
        f"{round(1000 / batched_ms, 1):>8}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
