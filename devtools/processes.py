"""Starting the real thing, for end-to-end tests and benchmarks: ASGI server, Celery workers.

Processes get their settings through the environment, pointed at the caller's database and at
Redis, so they run exactly what `make run` starts with REDIS_URL set. Used by tests/ and
bench/; nothing in the product imports it.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests
from django.db import connection

from assist.management.commands.serve import uvicorn_limits

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    """The URL of the database this test process uses (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def live_env(*, redis_url: str, ranker_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=database_url(),
        REDIS_URL=redis_url,
        RANKER_DIR=str(ranker_dir),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # The local settings (plain HTTP on loopback, static files from the app folders) are
        # what `make run` starts; a caller may give the production ones.
        DB_CONN_MAX_AGE="0",
    )
    env.update(extra)
    return env


def wait_for(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen, *, grace_s: float) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within `grace_s`."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def celery_worker(
    env: dict[str, str],
    *,
    name: str = "w1",
    concurrency: int = 1,
    app: str = "config.celery_app",
    on_host: Sequence[str] = (),
) -> Iterator[subprocess.Popen]:
    """A Celery worker on the inference and default queues, as `manage.py serve` starts it.

    `app` is the Celery app module (the fault drills give theirs); the log is in LIVE_LOG_DIR.
    `on_host` is a command prefix that runs it elsewhere (the multi-host drill's
    `ip netns exec ...`).
    """
    log = open(Path(env.get("LIVE_LOG_DIR", "/tmp")) / f"worker-{name}.log", "w+")  # noqa: SIM115
    process = subprocess.Popen(
        [
            *on_host, sys.executable, "-m", "celery", "-A", app, "worker",
            "--queues", "inference,default", "--concurrency", str(concurrency),
            "--hostname", f"{name}@%h", "--loglevel", "INFO", "--without-gossip",
            "--without-mingle", "--without-heartbeat",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def ready() -> bool:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"worker exited: {log.read()[-3000:]}")
        log.seek(0)
        return " ready." in log.read()

    try:
        wait_for(ready, timeout=120, what="the Celery worker")
        yield process
    finally:
        stop(process, grace_s=20)
        log.close()


@contextmanager
def asgi_server(
    env: dict[str, str],
    port: int,
    *,
    log: Path | None = None,
    host: str = "127.0.0.1",
    on_host: Sequence[str] = (),
) -> Iterator[str]:
    """uvicorn as `manage.py serve` starts it; its output goes to `log` (appended) if given.

    `host` is the address it listens on; `on_host` a command prefix that runs it elsewhere.
    """
    out = open(log, "a") if log else None  # noqa: SIM115
    process = subprocess.Popen(
        [*on_host, sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", host,
         "--port", str(port), "--no-access-log", *uvicorn_limits()],
        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT if out else None,
    )  # fmt: skip
    base = f"http://{host}:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError("the ASGI server exited")
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:  # not listening yet, or still starting up
            return False

    try:
        wait_for(up, timeout=60, what="the ASGI server")
        yield base
    finally:
        stop(process, grace_s=10)
        if out:
            out.close()
