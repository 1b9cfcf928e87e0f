"""The labelling rule (assist/labels.py) on the demo catalog: how much of each template a reply
keeps when the agent fills its fields, fills them and adds a sentence, or sends another
template's text instead, and how many of each the rule counts as sending the template; then
what the measure costs per reply.

    python bench/label_rule_bench.py
"""

import csv
import random
import re
import statistics
import time

from checkout import ROOT, setup_django

setup_django("config.settings.production", SECRET_KEY="bench-" + "z" * 50)

from assist.labels import SENT_MIN_SIMILARITY, edit_similarity  # noqa: E402

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
ADDED = " Sorry for the trouble, and thanks for your patience!"


def main() -> None:
    with (ROOT / "assist" / "demo" / "catalog.csv").open(encoding="utf-8") as file:
        bodies = [row["body"] for row in csv.DictReader(file)]
    filled, added, other = [], [], []
    for i, body in enumerate(bodies):
        inserted = PLACEHOLDER.sub(lambda m: f"[[{m.group(1)}]]", body)  # as the panel shows it
        sent = PLACEHOLDER.sub("42.50 EUR", body)
        filled.append(edit_similarity(inserted, sent))
        added.append(edit_similarity(inserted, sent + ADDED))
        other.append(edit_similarity(inserted, PLACEHOLDER.sub("x", bodies[(i + 7) % len(bodies)])))
    with_fields = sum(bool(PLACEHOLDER.search(body)) for body in bodies)
    print(f"{len(bodies)} templates, {with_fields} with a field to fill")
    for name, values in (
        ("fields filled", filled),
        ("filled + a sentence", added),
        ("another template's text", other),
    ):
        counted = sum(v >= SENT_MIN_SIMILARITY for v in values) / len(values)
        print(
            f"{name:26s} similarity median {statistics.median(values):.3f} "
            f"(min {min(values):.3f}, max {max(values):.3f}); counted as sent {counted:.0%}"
        )
    start = time.perf_counter()
    for body in bodies:
        edit_similarity(body, body + ADDED)
    typical = (time.perf_counter() - start) / len(bodies)
    rng = random.Random(0)
    words = [rng.choice(["refund", "card", "the", "a", "your", "will"]) for _ in range(2000)]
    start = time.perf_counter()
    edit_similarity(" ".join(words), " ".join(reversed(words)))
    worst = time.perf_counter() - start
    print(
        f"cost: {typical * 1000:.2f} ms per reply; worst case (2,000 repetitive words, "
        f"compared up to 500) {worst * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
