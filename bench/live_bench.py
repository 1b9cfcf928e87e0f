"""Customer message → `suggestions` frame, end to end, with the ranker's own time beside it.

Starts an ASGI server and one Celery worker on Redis against a throwaway database, connects
N agent sockets, each sending a customer message every `--every` seconds, and measures the
time from sending the frame to receiving the suggestions for that message. The ranker's own
latency (stored with each Suggestion) is the baseline: the difference, message by message, is
the plumbing ("overhead").

    python bench/live_bench.py [--agents 1,50] [--seconds 60] [--every 2]
    python bench/live_bench.py --agents 200 --every 5 --seconds 120 --servers 2 --workers 2

The second form is the load run of the reliability figures: agents are spread over the ASGI
servers, and the resident memory of every server and worker process (pool children included)
is printed at the start and the end.

Needs REDIS_URL and DATABASE_URL (PostgreSQL); `make bench` sets local defaults.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

from checkout import setup_django

setup_django("config.settings.test")

import numpy as np  # noqa: E402
import websockets  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

CUSTOMER_LINES = [
    "my card still hasn't arrived, it's been two weeks",
    "I was charged twice for the same coffee",
    "how do I change my PIN?",
    "the app keeps crashing when I log in",
    "I want to close my account",
    "why was my transfer declined?",
    "what is the exchange rate for euros today",
    "I need a refund for a cancelled order",
    "someone used my card without permission",
    "top up failed but money left my bank",
]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def agent_loop(
    url: str,
    token: str,
    conversation_id: int,
    seconds: float,
    every: float,
    results: list,
    everyone_ready: asyncio.Barrier,
) -> None:
    # The socket accepts its own site's origin only: same scheme, host and port.
    site = urlsplit(url)._replace(scheme="http", path="").geturl()
    headers = {"Authorization": f"Token {token}", "Origin": site}
    async with websockets.connect(url, additional_headers=headers, max_size=2**22) as socket:
        json.loads(await socket.recv())  # ready
        await socket.send(json.dumps({"type": "subscribe", "conversation": conversation_id}))
        while json.loads(await socket.recv())["type"] != "state":
            pass
        # Messages start once every panel is connected and subscribed: what is measured is a
        # steady load, not 50 logins at the same instant.
        await everyone_ready.wait()
        sent_at: dict[str, float] = {}
        sent_wall: dict[str, float] = {}
        message_ids: dict[int, str] = {}
        deadline = time.monotonic() + seconds

        async def sender() -> None:
            await asyncio.sleep(random.uniform(0, every))  # spread the agents over the period
            while time.monotonic() < deadline:
                client_id = str(uuid.uuid4())
                sent_at[client_id] = time.perf_counter()
                sent_wall[client_id] = time.time()
                frame = {
                    "type": "message",
                    "conversation": conversation_id,
                    "role": "customer",
                    "text": random.choice(CUSTOMER_LINES),
                    "client_id": client_id,
                }
                await socket.send(json.dumps(frame))
                await asyncio.sleep(every)

        async def receiver() -> None:
            while time.monotonic() < deadline + 5:
                try:
                    frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=1))
                except TimeoutError:
                    continue
                now = time.perf_counter()
                if frame["type"] == "ack" and frame["kind"] == "message":
                    message_ids[frame["id"]] = frame["client_id"]
                elif frame["type"] == "suggestions":
                    client_id = message_ids.get(frame["message"])
                    if client_id in sent_at:
                        started = sent_at.pop(client_id)
                        stages = (sent_wall.pop(client_id), time.time())
                        results.append((frame["suggestion"], (now - started) * 1000, stages))
                elif frame["type"] == "error":
                    results.append(("error", frame["code"]))

        await asyncio.gather(sender(), receiver())


def setup_agents(count: int) -> list[tuple[str, int]]:
    from assist.roles import AGENT
    from assist.tokens import token_issue
    from devtools.accounts import open_conversation, user_with_role

    agents = []
    for _ in range(count):
        agent = user_with_role(AGENT)
        conversation = open_conversation(agent)
        agents.append((token_issue(user=agent), conversation.pk))
    return agents


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (a Celery pool), in MB, from /proc."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass  # a pool child that just exited
    return total


def server_pid(port: int) -> int:
    """The uvicorn process serving `port` (devtools.processes.asgi_server gives only its URL)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"uvicorn" in argv[2:3] + argv[1:2] and str(port).encode() in argv:
            return int(cmdline.parent.name)
    raise LookupError(f"no uvicorn process on port {port}")


def run_level(bases: list[str], count: int, seconds: float, every: float) -> dict:
    from assist.models import Suggestion

    agents = setup_agents(count)
    urls = [base.replace("http", "ws") + "/ws/assist/" for base in bases]
    results: list = []

    async def main() -> None:
        everyone_ready = asyncio.Barrier(len(agents))
        await asyncio.gather(
            *(
                agent_loop(urls[i % len(urls)], token, cid, seconds, every, results, everyone_ready)
                for i, (token, cid) in enumerate(agents)
            )
        )

    asyncio.run(main())
    errors = [r for r in results if r[0] == "error"]
    timed = [r for r in results if r[0] != "error"]
    e2e = [ms for _, ms, _ in timed]
    rows = Suggestion.objects.filter(pk__in=[sid for sid, _, _ in timed]).values(
        "pk", "latency_ms", "created_at", "message__created_at"
    )
    by_pk = {row["pk"]: row for row in rows}
    model = [row["latency_ms"] for row in rows]
    # The plumbing's share of each message: its end-to-end time less its own ranking's time
    # (the difference of the two medians would carry the model's run-to-run variance too).
    overhead = [ms - by_pk[sid]["latency_ms"] for sid, ms, _ in timed]
    # Where the time goes, from the database's own time stamps (one machine, one clock):
    # frame sent → message stored → suggestion stored → frame received.
    stages: dict[str, list[float]] = {"store": [], "queue+rank": [], "push": []}
    for sid, _, (sent, received) in timed:
        row = by_pk[sid]
        stored, suggested = row["message__created_at"].timestamp(), row["created_at"].timestamp()
        stages["store"].append((stored - sent) * 1000)
        stages["queue+rank"].append((suggested - stored) * 1000)
        stages["push"].append((received - suggested) * 1000)
    sent = count * int(seconds / every)
    return {
        "agents": count,
        "suggestions": len(e2e),
        "sent_about": sent,
        "errors": len(errors),
        "e2e_p50": percentile(e2e, 50),
        "e2e_p99": percentile(e2e, 99),
        "model_p50": percentile(model, 50),
        "model_p99": percentile(model, 99),
        "overhead_p50": percentile(overhead, 50),
        "overhead_p99": percentile(overhead, 99),
        "mean_e2e": statistics.fmean(e2e),
        "stages_p50": {name: percentile(values, 50) for name, values in stages.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", default="1,50")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--every", type=float, default=2.0)
    parser.add_argument("--servers", type=int, default=1, help="ASGI server processes")
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="pool processes per worker (INFERENCE_WORKERS)"
    )
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL") or "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("live_bench needs REDIS_URL and a PostgreSQL DATABASE_URL")
    ranker_dir = Path(settings.RANKER_DIR)
    if not (ranker_dir / "ranker.json").is_file():
        sys.exit(f"no model in {ranker_dir}: run `make run` once (or manage.py ensure_model)")

    from assist.demo.generator import CATALOG_PATH as DEMO_CATALOG
    from devtools.processes import asgi_server, celery_worker, free_port, live_env

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        call_command("import_catalog", DEMO_CATALOG, verbosity=0)
        # Production settings: DEBUG off, persistent database connections (the tests turn
        # them off so that the test database can be dropped at once).
        env = live_env(redis_url=os.environ["REDIS_URL"], ranker_dir=ranker_dir,
                       DJANGO_SETTINGS_MODULE="config.settings.production",
                       SECRET_KEY="bench-" + "z" * 50, SECURE_SSL_REDIRECT="0",
                       DB_CONN_MAX_AGE="60")  # fmt: skip
        print(
            f"model: {ranker_dir}; {args.servers} ASGI server(s), {args.workers} worker(s) "
            f"of {args.concurrency} pool process(es) "
            f"(RANKER_THREADS={env.get('RANKER_THREADS', '1')}, "
            f"RANKER_BACKEND={env.get('RANKER_BACKEND') or 'as stored'}); Redis; PostgreSQL; "
            f"a message every {args.every:g} s per agent for {args.seconds:g} s"
        )
        with ExitStack() as stack:
            workers = [
                stack.enter_context(
                    celery_worker(env, name=f"bench{i}", concurrency=args.concurrency)
                )
                for i in range(args.workers)
            ]
            bases = [
                stack.enter_context(asgi_server(env, free_port())) for _ in range(args.servers)
            ]
            servers = [server_pid(int(base.rsplit(":", 1)[1])) for base in bases]
            processes = {f"worker{i}": w.pid for i, w in enumerate(workers)} | {
                f"server{i}": pid for i, pid in enumerate(servers)
            }
            # Warm up first (models loaded, connections open), so that memory growth means
            # what the load added, not what starting up takes.
            run_level(bases, 2 * len(bases), min(5.0, args.seconds), 1.0)
            memory_start = {name: rss_mb(pid) for name, pid in processes.items()}
            print(
                f"{'agents':>6} {'delivered':>9} {'per s':>6} {'errors':>6} {'e2e p50':>8} "
                f"{'e2e p99':>8} {'model p50':>9} {'model p99':>9} {'overhead p50':>12} "
                f"{'overhead p99':>12} "
                f"{'e2e/model p50':>13}"
            )
            for count in [int(n) for n in args.agents.split(",")]:
                r = run_level(bases, count, args.seconds, args.every)
                print(
                    f"{r['agents']:>6} {r['suggestions']:>4}/{r['sent_about']:<4} "
                    f"{r['suggestions'] / args.seconds:>6.1f} "
                    f"{r['errors']:>6} {r['e2e_p50']:>6.1f}ms {r['e2e_p99']:>6.1f}ms "
                    f"{r['model_p50']:>7.1f}ms {r['model_p99']:>7.1f}ms "
                    f"{r['overhead_p50']:>10.1f}ms {r['overhead_p99']:>10.1f}ms "
                    f"{r['e2e_p50'] / r['model_p50']:>12.2f}x"
                )
                stages = ", ".join(f"{k} {v:.1f}ms" for k, v in r["stages_p50"].items())
                print(f"{'':>6} p50 by stage: {stages}")
            memory = ", ".join(
                f"{name} {memory_start[name]:.0f}->{rss_mb(pid):.0f} MB"
                for name, pid in processes.items()
            )
            print(f"resident memory, start->end: {memory}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
