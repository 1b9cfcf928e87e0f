"""Supervisor review pages at scale: the metrics dashboard and the conversation list.

Generates `--picks` picks over `--conversations` conversations (manage.py
generate_review_data) in a throwaway PostgreSQL database, then times the pages through
Django's test client as a signed-in supervisor (the median of `--repeat` runs after one
warm-up). The baseline, measured in the same run on the same rows: the dashboard's headline
numbers computed the naive way, by a Python loop over the rows; the two must agree.

    python bench/review_bench.py [--conversations 200000] [--picks 1000000] [--keepdb]

Needs a PostgreSQL DATABASE_URL; `make bench` sets the local default. With --keepdb the
generated database is kept for the next run (and reused if it is already there).
"""

import argparse
import statistics
import sys
import time

from checkout import setup_django

setup_django("config.settings.test")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

PAGES = [
    ("dashboard, last 30 days", "/review/dashboard/"),
    ("dashboard, all time", "/review/dashboard/?from=2000-01-01"),
    ("list, page 1", "/review/"),
    ("list, page 100", "/review/?page=100"),
    ("list, no suggestion used", "/review/?suggestion_used=no"),
    ("list, one agent + template", "/review/?agent=gen_agent_007&template=generated.t010"),
]


def timed(fn, repeat: int) -> float:
    fn()  # warm-up: connection, template compilation, database caches
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def naive_headline() -> dict[str, float]:
    """The baseline: acceptance and hit rates by looping over every row in Python."""
    from assist.models import Message, Pick, Suggestion

    picked = set()
    for suggestion_id, action in Pick.objects.values_list("suggestion_id", "action").iterator(
        chunk_size=20_000
    ):
        if suggestion_id is not None and action != "dismissed":
            picked.add(suggestion_id)
    lists = accepted = 0
    for (pk,) in Suggestion.objects.values_list("pk").iterator(chunk_size=20_000):
        lists += 1
        accepted += pk in picked
    with_list = top1 = 0
    replies = Message.objects.filter(template__isnull=False).values_list(
        "shown_suggestion_id", "shown_rank"
    )
    for shown, rank in replies.iterator(chunk_size=20_000):
        if shown is not None:
            with_list += 1
            top1 += rank == 1
    return {"acceptance": accepted / lists, "top1_rate": top1 / with_list}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--picks", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keepdb", action="store_true")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress in logs
    if connection.vendor != "postgresql":
        sys.exit("review_bench needs a PostgreSQL DATABASE_URL")

    from assist.models import Conversation, Pick
    from assist.review import metrics
    from assist.roles import SUPERVISOR
    from devtools.accounts import user_with_role

    database = settings.DATABASES["default"]
    database["TEST"]["NAME"] = f"{database['NAME']}_review_bench"
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=args.keepdb, serialize=False)
    try:
        have = Pick.objects.count()
        if have < args.picks:
            started = time.perf_counter()
            call_command(
                "generate_review_data",
                conversations=args.conversations - Conversation.objects.count(),
                picks=args.picks - have,
                verbosity=0,
            )
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            print(f"generated in {time.perf_counter() - started:.0f} s")
        print(
            f"data: {Conversation.objects.count():,} conversations, {Pick.objects.count():,} "
            f"picks; PostgreSQL; median of {args.repeat} after a warm-up"
        )
        client = Client()
        client.force_login(user_with_role(SUPERVISOR, username="bench_supervisor"))

        def get(url: str):
            def fetch() -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            return fetch

        results = {name: timed(get(url), args.repeat) for name, url in PAGES}
        started = time.perf_counter()
        naive = naive_headline()
        naive_s = time.perf_counter() - started
        ours = metrics.overview(metrics.Period())
        for key in naive:
            assert abs(naive[key] - ours[key]) < 1e-12, (key, naive[key], ours[key])

        print(f"{'page':<28} {'seconds':>8} {'under 2 s':>9}")
        for name, seconds in results.items():
            print(f"{name:<28} {seconds:>8.3f} {'yes' if seconds < 2 else 'NO':>9}")
        whole = results["dashboard, all time"]
        print(
            f"baseline: the headline rates by a Python loop over the rows: {naive_s:.3f} s "
            f"(same numbers); the whole all-time dashboard is {naive_s / whole:.1f}x faster"
        )
    finally:
        if not args.keepdb:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
