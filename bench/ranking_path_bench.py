"""The worker's hot path in one process, with the ranker's own time measured in the same calls.

`suggestion_create` (what task `rank` runs) for the last customer message of a conversation of
`--turns` messages, `--repeat` times; the stored list is deleted between calls, outside the
timing. Each call's ranker time is the one it stores on its Suggestion, so what is left, per
call, is the plumbing inside the worker: the database statements, the model-version and
catalog checks, building the frame and the push to the channel layer. Unlike
bench/live_bench.py this leaves out the network hops between processes, and with them most of
the run-to-run noise of a shared machine: it is the figure to compare two versions of the
service by.

    python bench/ranking_path_bench.py [--repeat 300] [--turns 30]

A throwaway database from DATABASE_URL (PostgreSQL in `make bench`; SQLite without it), the
channel layer from REDIS_URL, production settings otherwise; the model is RANKER_DIR's (the
one `make run` trains).
"""

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

# Production settings: DEBUG, which would record every query, is off.
from checkout import setup_django

setup_django("config.settings.production", SECRET_KEY="bench-" + "z" * 50)

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

LINES = [
    "my card still hasn't arrived, it's been two weeks",
    "I was charged twice for the same coffee",
    "how do I change my PIN?",
]


def run(repeat: int, turns: int) -> dict[str, list[float]]:
    from assist.demo.generator import CATALOG_PATH as DEMO_CATALOG
    from assist.live.suggestions import suggestion_create
    from assist.models import Message, Suggestion
    from assist.roles import AGENT
    from assist.serving.model_cache import serving_ranker
    from devtools.accounts import open_conversation, user_with_role

    call_command("import_catalog", DEMO_CATALOG, verbosity=0)
    conversation = open_conversation(user_with_role(AGENT))
    for i in range(turns):
        message = Message.objects.create(
            conversation=conversation,
            role=Message.Role.CUSTOMER if i % 2 == 0 else Message.Role.AGENT,
            text=LINES[i % len(LINES)],
            client_id=str(uuid.uuid4()),
            sent_at=timezone.now(),
        )
    if message.role != Message.Role.CUSTOMER:
        message = Message.objects.create(
            conversation=conversation,
            role=Message.Role.CUSTOMER,
            text=LINES[0],
            client_id=str(uuid.uuid4()),
            sent_at=timezone.now(),
        )
    serving_ranker()  # what a pool process does at start
    times: dict[str, list[float]] = {"call": [], "model": [], "rest": []}
    for i in range(repeat + 10):
        Suggestion.objects.filter(message=message).delete()
        started = time.perf_counter()
        suggestion = suggestion_create(message_id=message.pk)
        call_ms = (time.perf_counter() - started) * 1000
        if i < 10:
            continue  # warm-up: connections, caches, the catalog and the model version
        times["call"].append(call_ms)
        times["model"].append(suggestion.latency_ms)
        times["rest"].append(call_ms - suggestion.latency_ms)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--turns", type=int, default=30)
    args = parser.parse_args()
    if not (Path(settings.RANKER_DIR) / "ranker.json").is_file():
        sys.exit(f"no model in {settings.RANKER_DIR}: run `make run` once (manage.py ensure_model)")
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        times = run(args.repeat, args.turns)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(
        f"suggestion_create, {args.repeat} calls, a {args.turns}-message conversation; "
        f"{connection.vendor}, {layer}, RANKER_BACKEND={settings.RANKER_BACKEND or 'as stored'}"
    )
    print(f"{'':>22} {'p50':>8} {'p99':>8}")
    for name, label in [("call", "whole call"), ("model", "ranker (baseline)"),
                        ("rest", "rest: the plumbing")]:  # fmt: skip
        values = times[name]
        print(
            f"{label:>22} {np.percentile(values, 50):>6.2f}ms {np.percentile(values, 99):>6.2f}ms"
        )
    share = statistics.median(r / c for r, c in zip(times["rest"], times["call"], strict=True))
    print(f"plumbing share of a call, p50: {share:.1%}")


if __name__ == "__main__":
    main()
