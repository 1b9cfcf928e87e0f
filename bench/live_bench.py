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
is printed at the start and the end. With faults, the reliability figures' load run:

    python bench/live_bench.py --agents 200 --every 5 --seconds 120 --servers 2 --workers 2 \
        --kill-worker-at 40 --restart-redis-at 80 --redis-down-for 10

each panel also picks the first template of every list (`--picks`, implied by a fault), resends
what the server asks it to and reconnects after a drop, as the real panel does; the run reports
messages and picks sent against the rows stored, and error frames by code. `--restart-redis-at`
runs a Redis of the bench's own (REDIS_URL is not needed then).

Needs REDIS_URL and DATABASE_URL (PostgreSQL); `make bench` sets local defaults.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import socket as socket_module
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack, suppress
from pathlib import Path
from urllib.parse import urlsplit

from checkout import setup_django
from machine import rss_mb

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


RETRY_CODES = {"unavailable", "rate_limited"}  # "not now": the panel sends the frame again


class Ledger:
    """What the agents sent, what the server acknowledged or refused, over the whole run."""

    def __init__(self) -> None:
        self.messages_sent: set[str] = set()
        self.picks_sent: set[str] = set()
        self.acked: dict[str, set[str]] = {"message": set(), "pick": set()}
        self.errors: Counter[str] = Counter()
        self.final: dict[str, set[str]] = {"message": set(), "pick": set()}
        self.resent = 0
        self.reconnects = 0
        self.status_unavailable = 0
        self.lists = 0  # suggestions frames received, repeats included


async def agent_loop(
    url: str,
    token: str,
    conversation_id: int,
    seconds: float,
    every: float,
    results: list,
    everyone_ready: asyncio.Barrier,
    ledger: Ledger | None = None,
    picks: bool = False,
    drain: float = 10.0,
) -> None:
    """One panel: sends a customer message every `every` s (and, with `picks`, picks the first
    template of each list it receives), as the real panel does: a frame stays pending until it
    is acknowledged, is sent again after a backoff when refused with "not now" and after every
    reconnect, and a dropped socket is reopened with backoff (docs/protocol.md)."""
    ledger = ledger or Ledger()
    # The socket accepts its own site's origin only: same scheme, host and port.
    site = urlsplit(url)._replace(scheme="http", path="").geturl()
    headers = {"Authorization": f"Token {token}", "Origin": site}
    pending: dict[str, dict] = {}  # client_id -> frame, until acknowledged or finally refused
    refusals: dict[str, int] = {}
    sent_at: dict[str, float] = {}
    sent_wall: dict[str, float] = {}
    message_ids: dict[int, str] = {}
    answered: set[int] = set()
    socket = None
    started = asyncio.Event()
    deadline = float("inf")

    async def send(frame: dict) -> None:
        if socket is not None:
            with suppress(websockets.ConnectionClosed):  # sent again after the reconnect
                await socket.send(json.dumps(frame))

    async def resend_later(client_id: str) -> None:
        refusals[client_id] = refusals.get(client_id, 0) + 1
        await asyncio.sleep(min(10.0, 0.5 * 2 ** (refusals[client_id] - 1)))
        if client_id in pending:
            ledger.resent += 1
            await send(pending[client_id])

    async def sender() -> None:
        await started.wait()
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
            ledger.messages_sent.add(client_id)
            pending[client_id] = frame
            await send(frame)
            await asyncio.sleep(every)

    def handle(frame: dict, now: float | None, tasks: set) -> None:
        kind = frame["type"]
        if kind == "ack":
            pending.pop(frame["client_id"], None)
            ledger.acked["pick" if frame["kind"] == "pick" else "message"].add(frame["client_id"])
            if frame["kind"] == "message":
                message_ids[frame["id"]] = frame["client_id"]
        elif kind == "suggestions":
            ledger.lists += 1
            if frame["message"] in answered:
                return  # the same list again (a fresh `state`, a re-ranking)
            answered.add(frame["message"])
            client_id = message_ids.get(frame["message"])
            if client_id in sent_at and now is not None:  # not timed when it came in a `state`
                begun = sent_at.pop(client_id)
                stages = (sent_wall.pop(client_id), time.time())
                results.append((frame["suggestion"], (now - begun) * 1000, stages))
            if picks and frame["items"] and time.monotonic() < deadline + drain:
                pick_id = str(uuid.uuid4())
                pick = {
                    "type": "pick",
                    "conversation": conversation_id,
                    "suggestion": frame["suggestion"],
                    "template": frame["items"][0]["key"],
                    "rank": 1,
                    "action": "inserted",
                    "client_id": pick_id,
                }
                ledger.picks_sent.add(pick_id)
                pending[pick_id] = pick
                tasks.add(asyncio.ensure_future(send(pick)))
        elif kind == "status" and not frame.get("assist_available", True):
            ledger.status_unavailable += 1
        elif kind == "error":
            ledger.errors[frame["code"]] += 1
            results.append(("error", frame["code"]))
            client_id = frame.get("client_id")
            if client_id in pending:
                if frame["code"] in RETRY_CODES:
                    tasks.add(asyncio.ensure_future(resend_later(client_id)))
                else:
                    what = "pick" if pending[client_id]["type"] == "pick" else "message"
                    ledger.final[what].add(client_id)
                    del pending[client_id]

    async def connection() -> None:
        nonlocal socket, deadline
        backoff = 0.5
        tasks: set = set()
        first = True
        while True:
            if time.monotonic() > deadline + drain and not pending:
                break
            if time.monotonic() > deadline + drain + 60:
                break  # give up on what is still pending: it is reported as lost
            try:
                async with websockets.connect(
                    url, additional_headers=headers, max_size=2**22, open_timeout=10
                ) as opened:
                    json.loads(await opened.recv())  # ready
                    await opened.send(
                        json.dumps({"type": "subscribe", "conversation": conversation_id})
                    )
                    state = json.loads(await opened.recv())
                    while state["type"] != "state":
                        state = json.loads(await opened.recv())
                    backoff = 0.5
                    if first:
                        # Messages start once every panel is connected and subscribed: what
                        # is measured is a steady load, not 200 logins at the same instant.
                        await everyone_ready.wait()
                        deadline = time.monotonic() + seconds
                        started.set()
                        first = False
                    socket = opened
                    if not first and state["suggestions"]:
                        # A list pushed while the socket was down: the panel shows the
                        # latest one from `state`, and the agent may pick from it.
                        handle({"type": "suggestions", **state["suggestions"]}, None, tasks)
                    for frame in list(pending.values()):
                        ledger.resent += 1
                        await send(frame)
                    while time.monotonic() < deadline + drain or pending:
                        if time.monotonic() > deadline + drain + 60:
                            break
                        try:
                            raw = await asyncio.wait_for(opened.recv(), timeout=1)
                        except TimeoutError:
                            continue
                        handle(json.loads(raw), time.perf_counter(), tasks)
                    socket = None
                    break
            except (websockets.ConnectionClosed, OSError, TimeoutError,
                    websockets.InvalidStatus, websockets.InvalidHandshake):  # fmt: skip
                socket = None
                if first and time.monotonic() > 120 + start_time:
                    raise
                if not first:
                    ledger.reconnects += 1
                await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
                backoff = min(10.0, backoff * 2)
        for task in tasks:
            task.cancel()

    start_time = time.monotonic()
    await asyncio.gather(sender(), connection())


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


class PrivateRedis:
    """A redis-server of the bench's own on a free loopback port, which it may stop and start
    again (never a shared one): nothing is saved, so a restart loses the queues and groups."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", "/tmp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket_module.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("the private Redis did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def kill_tree(pid: int) -> None:
    """SIGKILL a worker's main process and its pool children at once, as a crash would."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [int(c) for c in children.read_text().split()] if children.exists() else []
    for one in [pid, *pids]:
        with suppress(ProcessLookupError):
            os.kill(one, signal.SIGKILL)


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


def run_level(
    bases: list[str],
    count: int,
    seconds: float,
    every: float,
    *,
    picks: bool = False,
    faults: list[tuple[float, Callable[[], None]]] = (),  # type: ignore[assignment]
) -> dict:
    from assist.models import Message, Pick, Suggestion

    agents = setup_agents(count)
    urls = [base.replace("http", "ws") + "/ws/assist/" for base in bases]
    results: list = []
    ledger = Ledger()

    async def inject(everyone_ready: asyncio.Barrier) -> None:
        # The faults' times count from the moment the load starts, as the agents' do.
        await everyone_ready.wait()
        begun = time.monotonic()
        for at, fault in sorted(faults, key=lambda f: f[0]):
            await asyncio.sleep(max(0.0, at - (time.monotonic() - begun)))
            print(f"  t={time.monotonic() - begun:5.1f}s: {fault.__doc__}", flush=True)
            await asyncio.to_thread(fault)

    async def main() -> None:
        everyone_ready = asyncio.Barrier(len(agents) + 1)
        await asyncio.gather(
            inject(everyone_ready),
            *(
                agent_loop(
                    urls[i % len(urls)],
                    token,
                    cid,
                    seconds,
                    every,
                    results,
                    everyone_ready,
                    ledger,
                    picks,
                )
                for i, (token, cid) in enumerate(agents)
            ),
        )

    asyncio.run(main())
    stored_messages = Message.objects.filter(client_id__in=ledger.messages_sent).count()
    stored_picks = Pick.objects.filter(client_id__in=ledger.picks_sent).count()
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
        "mean_e2e": statistics.fmean(e2e) if e2e else float("nan"),
        "stages_p50": {name: percentile(values, 50) for name, values in stages.items()},
        "stages_p99": {name: percentile(values, 99) for name, values in stages.items()},
        "messages_sent": len(ledger.messages_sent),
        "messages_stored": stored_messages,
        "messages_acked": len(ledger.acked["message"]),
        "messages_refused": len(ledger.final["message"]),
        "picks_sent": len(ledger.picks_sent),
        "picks_stored": stored_picks,
        "picks_acked": len(ledger.acked["pick"]),
        "picks_refused": len(ledger.final["pick"]),
        "error_codes": dict(ledger.errors),
        "resent": ledger.resent,
        "reconnects": ledger.reconnects,
        "status_unavailable": ledger.status_unavailable,
        "lists": ledger.lists,
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
    parser.add_argument(
        "--picks", action="store_true", help="pick the first template of every list received"
    )
    parser.add_argument(
        "--kill-worker-at", type=float, metavar="SECONDS",
        help="SIGKILL worker 0 (pool included) then, a few seconds later, start a new one",
    )  # fmt: skip
    parser.add_argument(
        "--restart-redis-at", type=float, metavar="SECONDS",
        help="stop the bench's own Redis (started for the run) and start it again",
    )  # fmt: skip
    parser.add_argument("--redis-down-for", type=float, default=10.0, metavar="SECONDS")
    args = parser.parse_args()
    faulty = args.kill_worker_at is not None or args.restart_redis_at is not None
    # A run with faults is one of the reliability figures: the panels pick too.
    args.picks = args.picks or faulty
    private_redis = args.restart_redis_at is not None
    if (not private_redis and not os.environ.get("REDIS_URL")) or "postgres" not in os.environ.get(
        "DATABASE_URL", ""
    ):
        sys.exit("live_bench needs REDIS_URL and a PostgreSQL DATABASE_URL")
    ranker_dir = Path(settings.RANKER_DIR)
    if not (ranker_dir / "ranker.json").is_file():
        sys.exit(f"no model in {ranker_dir}: run `make run` once (or manage.py ensure_model)")

    from assist.demo.generator import CATALOG_PATH as DEMO_CATALOG
    from devtools.processes import asgi_server, celery_worker, free_port, live_env

    redis_server = PrivateRedis(free_port()) if private_redis else None
    if redis_server:
        redis_server.start()
    redis_url = redis_server.url if redis_server else os.environ["REDIS_URL"]
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        call_command("import_catalog", DEMO_CATALOG, verbosity=0)
        # Production settings: DEBUG off, persistent database connections (the tests turn
        # them off so that the test database can be dropped at once).
        env = live_env(redis_url=redis_url, ranker_dir=ranker_dir,
                       DJANGO_SETTINGS_MODULE="config.settings.production",
                       SECRET_KEY="bench-" + "z" * 50, SECURE_SSL_REDIRECT="0",
                       DB_CONN_MAX_AGE="60")  # fmt: skip
        print(
            f"model: {ranker_dir}; {args.servers} ASGI server(s), {args.workers} worker(s) "
            f"of {args.concurrency} pool process(es) "
            f"(RANKER_THREADS={env.get('RANKER_THREADS', '1')}, "
            f"RANKER_BACKEND={env.get('RANKER_BACKEND') or 'as stored'}); Redis; PostgreSQL; "
            f"a message every {args.every:g} s per agent for {args.seconds:g} s"
            + (", a pick for every list" if args.picks else "")
        )
        with ExitStack() as stack:
            workers = [
                stack.enter_context(
                    celery_worker(env, name=f"bench{i}", concurrency=args.concurrency)
                )
                for i in range(args.workers)
            ]
            logs = Path(env.get("LIVE_LOG_DIR", "/tmp"))
            bases = [
                stack.enter_context(
                    asgi_server(env, free_port(), log=logs / f"bench-server{i}.log")
                )
                for i in range(args.servers)
            ]
            servers = [server_pid(int(base.rsplit(":", 1)[1])) for base in bases]
            processes = {f"worker{i}": w.pid for i, w in enumerate(workers)} | {
                f"server{i}": pid for i, pid in enumerate(servers)
            }
            # Warm up first (models loaded, connections open), so that memory growth means
            # what the load added, not what starting up takes.
            run_level(bases, 2 * len(bases), min(5.0, args.seconds), 1.0)
            memory_start = {name: rss_mb(pid) for name, pid in processes.items()}

            def kill_worker() -> None:
                """SIGKILL worker0 (pool included); a new one starts 3 s later"""
                kill_tree(processes["worker0"])
                time.sleep(3)
                replacement = stack.enter_context(
                    celery_worker(env, name="bench0-restarted", concurrency=args.concurrency)
                )
                processes["worker0"] = replacement.pid
                print(f"  worker0 replaced and ready ({replacement.pid})", flush=True)

            def restart_redis() -> None:
                """Redis stopped"""
                assert redis_server is not None
                redis_server.stop()
                time.sleep(args.redis_down_for)
                redis_server.start()
                print(f"  Redis started again after {args.redis_down_for:g} s", flush=True)

            faults = []
            if args.kill_worker_at is not None:
                faults.append((args.kill_worker_at, kill_worker))
            if args.restart_redis_at is not None:
                faults.append((args.restart_redis_at, restart_redis))
            print(
                f"{'agents':>6} {'delivered':>9} {'per s':>6} {'errors':>6} {'e2e p50':>8} "
                f"{'e2e p99':>8} {'model p50':>9} {'model p99':>9} {'overhead p50':>12} "
                f"{'overhead p99':>12} "
                f"{'e2e/model p50':>13}"
            )
            for count in [int(n) for n in args.agents.split(",")]:
                r = run_level(
                    bases, count, args.seconds, args.every, picks=args.picks, faults=faults
                )
                print(
                    f"{r['agents']:>6} {r['suggestions']:>4}/{r['sent_about']:<4} "
                    f"{r['suggestions'] / args.seconds:>6.1f} "
                    f"{r['errors']:>6} {r['e2e_p50']:>6.1f}ms {r['e2e_p99']:>6.1f}ms "
                    f"{r['model_p50']:>7.1f}ms {r['model_p99']:>7.1f}ms "
                    f"{r['overhead_p50']:>10.1f}ms {r['overhead_p99']:>10.1f}ms "
                    f"{r['e2e_p50'] / r['model_p50']:>12.2f}x"
                )
                for q in ("p50", "p99"):
                    stages = ", ".join(f"{k} {v:.1f}ms" for k, v in r[f"stages_{q}"].items())
                    print(f"{'':>6} {q} by stage: {stages}")
                codes = ", ".join(f"{k} {v}" for k, v in sorted(r["error_codes"].items()))
                print(
                    f"{'':>6} messages sent {r['messages_sent']}, stored {r['messages_stored']}, "
                    f"acknowledged {r['messages_acked']}, refused for good "
                    f"{r['messages_refused']}; picks sent {r['picks_sent']}, stored "
                    f"{r['picks_stored']}, acknowledged {r['picks_acked']}, refused for good "
                    f"{r['picks_refused']}; lists received {r['lists']}; error frames: "
                    f"{codes or 'none'}; frames sent again {r['resent']}; reconnects "
                    f"{r['reconnects']}; 'assist unavailable' status frames "
                    f"{r['status_unavailable']}"
                )
            # A killed worker's figure at the end is its replacement's.
            replaced = " (replaced)" if args.kill_worker_at is not None else ""
            memory = ", ".join(
                f"{name}{replaced if name == 'worker0' else ''} "
                f"{memory_start[name]:.0f}->{rss_mb(pid):.0f} MB"
                for name, pid in processes.items()
            )
            print(f"resident memory, start->end: {memory}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if redis_server:
            redis_server.stop()


if __name__ == "__main__":
    main()
