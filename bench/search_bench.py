"""Catalog search (templates_app/search.py): how long one search takes on a large catalog.

The demo catalog grown to `--templates` templates (each demo template again with extra words,
so that the vocabulary grows too) and `--messages` templated agent replies (the usage counts),
then `--repeat` searches of each query, as the panel sends them. On PostgreSQL it runs again
without the GIN indexes (full-text vector, trigrams), to show what they are worth.

    python bench/search_bench.py [--templates 3000] [--messages 200000] [--repeat 50]

A throwaway database from DATABASE_URL (PostgreSQL in `make bench`; SQLite without it),
production settings otherwise.
"""

import argparse
import random
import time
import uuid

from checkout import setup_django

setup_django("config.settings.production", SECRET_KEY="bench-" + "z" * 50)

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

QUERIES = ["freeze", "frezee", "lost card", "refund fee", "card", "adress chnage", "&|!:*"]
GIN_INDEXES = ("templates_app_search_vector", "templates_app_search_trigram")


def build(templates: int, messages: int) -> None:
    from assist.demo.generator import CATALOG_PATH as DEMO_CATALOG
    from assist.models import Conversation, Message
    from templates_app.models import ResponseTemplate

    call_command("import_catalog", DEMO_CATALOG, verbosity=0)
    demo = list(ResponseTemplate.objects.all())
    words = sorted({w for t in demo for w in t.body.split() if w.isalpha()})
    rng = random.Random(0)
    extra = [
        ResponseTemplate(
            key=f"{t.key}.v{i}",
            title=f"{t.title} {rng.choice(words)}",
            body=f"{t.body} {' '.join(rng.choices(words, k=12))}",
            category=t.category,
        )
        for i in range(templates // len(demo))
        for t in demo
    ]
    ResponseTemplate.objects.bulk_create(extra[: templates - len(demo)], batch_size=1000)
    ids = list(ResponseTemplate.objects.values_list("pk", flat=True))
    conversation = Conversation.objects.create(
        external_id="bench", channel="chat", customer_name="Bench", started_at=timezone.now()
    )
    now = timezone.now()
    # Usage as real catalogs have it: a few templates carry most replies.
    weights = 1 / np.arange(1, len(ids) + 1)
    picked = np.random.default_rng(0).choice(ids, size=messages, p=weights / weights.sum())
    Message.objects.bulk_create(
        (
            Message(
                conversation=conversation,
                role="agent",
                text="reply",
                template_id=int(pk),
                client_id=uuid.uuid4().hex,
                sent_at=now,
            )
            for pk in picked
        ),
        batch_size=5000,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def measure(repeat: int) -> dict[str, list[float]]:
    from templates_app.search import template_search

    times: dict[str, list[float]] = {}
    for query in QUERIES:
        for i in range(repeat + 3):
            started = time.perf_counter()
            list(template_search(query=query)[:10])
            if i >= 3:  # warm-up
                times.setdefault(query, []).append((time.perf_counter() - started) * 1000)
    return times


def report(title: str, times: dict[str, list[float]]) -> None:
    print(title)
    print(f"{'query':>16} {'p50':>8} {'p99':>8}")
    for query, values in times.items():
        p50, p99 = np.percentile(values, 50), np.percentile(values, 99)
        print(f"{query:>16} {p50:>6.1f}ms {p99:>6.1f}ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--templates", type=int, default=3000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        build(args.templates, args.messages)
        what = f"{args.templates} templates, {args.messages} replies, {connection.vendor}"
        report(f"template_search, first 10 of each query; {what}", measure(args.repeat))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for index in GIN_INDEXES:
                    cursor.execute(f"DROP INDEX {index}")
            report("the same without the GIN indexes", measure(args.repeat))
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
