"""Drill: `manage.py serve` (what `make run` starts with REDIS_URL) loses its inference worker to
SIGKILL. The supervisor starts a new one; the web server, the training worker and beat are not
touched and the web server answers throughout; the new worker ranks the next customer message.
SIGTERM to `serve` then stops every process it started.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from assist.models import Suggestion
from tests.live import ROOT, free_port, live_env, post_customer_message, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def children(pid: int) -> dict[str, int]:
    """The supervised processes of `serve` (now supervisord) by role, from their command lines."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    roles = {}
    for child in map(int, found.stdout.split()):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:  # exited meanwhile
            continue
        if "uvicorn" in command:
            roles["web"] = child
        elif "--queues inference" in command:
            roles["worker"] = child
        elif "--queues training" in command:
            roles["training-worker"] = child
        elif " beat " in command:
            roles["beat"] = child
    return roles


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class HealthWatch:
    """Polls /healthz from a thread; counts the answers that were not 200."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.answers = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> "HealthWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                answer = requests.get(f"{self.base}/healthz", timeout=5)
                if answer.status_code != 200:
                    self.failures.append(f"HTTP {answer.status_code}")
            except requests.RequestException as error:
                self.failures.append(repr(error))
            self.answers += 1
            time.sleep(0.2)


def test_a_killed_inference_worker_is_restarted_and_nothing_else_stops(
    private_redis, drill_agent, demo_ranker_dir, tmp_path
):
    _, conversation, token = drill_agent
    env = live_env(
        redis_url=private_redis.url,
        ranker_dir=demo_ranker_dir,
        RETRAIN_EVERY_HOURS="168",  # beat runs too
        MODEL_ARTIFACTS_ROOT=str(tmp_path / "artifacts"),
        MODEL_CACHE_DIR=str(tmp_path / "model-cache"),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    worker_ready = f"assist-{port}@"

    def log() -> str:
        return log_path.read_text(errors="replace")

    def workers_ready() -> int:
        return sum(worker_ready in line and " ready." in line for line in log().splitlines())

    def up() -> bool:
        if serve.poll() is not None:
            raise RuntimeError(f"serve exited: {log()[-3000:]}")
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:  # not listening yet
            return False

    with open(log_path, "w") as out:
        serve = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(up, timeout=90, what="the web server")
        wait_for(lambda: workers_ready() == 1, timeout=120, what="the inference worker")
        before = children(serve.pid)
        assert set(before) == {"web", "worker", "training-worker", "beat"}, log()[-3000:]

        with HealthWatch(base) as health:
            os.kill(before["worker"], signal.SIGKILL)

            def restarted() -> bool:
                assert serve.poll() is None, f"serve exited: {log()[-3000:]}"
                return children(serve.pid).get("worker") not in (None, before["worker"])

            wait_for(restarted, timeout=30, what="a new inference worker process")
            wait_for(lambda: workers_ready() == 2, timeout=120, what="the new worker to be ready")
            time.sleep(1)  # a few more answers after the restart

        assert serve.poll() is None, log()[-3000:]
        after = children(serve.pid)
        assert after["worker"] != before["worker"]
        for role in ("web", "training-worker", "beat"):
            assert after[role] == before[role], f"{role} was restarted"
        assert health.answers > 10
        assert health.failures == []

        # The new worker does the work: the next customer message gets its suggestions.
        message_id = post_customer_message(base, token, conversation.pk, "my card was stolen")
        wait_for(
            lambda: Suggestion.objects.filter(message_id=message_id).exists(),
            timeout=90,
            what="a ranking from the new worker",
        )
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait(timeout=10)
            raise
    # SIGTERM reached every process `serve` started.
    assert not [pid for pid in after.values() if alive(pid)], log()[-3000:]
