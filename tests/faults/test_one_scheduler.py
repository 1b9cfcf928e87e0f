"""One scheduler per deployment: two beat processes, as two hosts' `manage.py serve` start them,
on one Redis. RedBeat's lock lets one dispatch the periodic retraining while the other waits;
when the first dies without a word (SIGKILL: its lock is not released), the second takes over
once the lock expires. Every dispatch is a message on the `training` queue, which no worker
consumes here, so the queue's length counts the dispatches of both processes."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.live import ROOT, live_env, stop, wait_for

pytestmark = pytest.mark.slow

SENT = re.compile(r"Sending due task retrain-ranker")


def start_beat(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config.celery_app", "beat", "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def sent(log: Path) -> int:
    return len(SENT.findall(log.read_text()))


def test_two_beat_processes_dispatch_once_and_the_survivor_takes_over(private_redis, tmp_path):
    env = live_env(
        redis_url=private_redis.url,
        ranker_dir=tmp_path,
        RETRAIN_EVERY_HOURS=str(1 / 3600),  # every second
        BEAT_MAX_INTERVAL_S="1",
        BEAT_LOCK_TIMEOUT_S="3",
    )
    queue = redis.Redis.from_url(private_redis.url)
    first_log, second_log = tmp_path / "beat-1.log", tmp_path / "beat-2.log"
    first = start_beat(env, first_log)
    second = None
    try:
        wait_for(lambda: "Acquired lock" in first_log.read_text(), timeout=90, what="beat 1")
        second = start_beat(env, second_log)
        wait_for(lambda: "beat: Starting" in second_log.read_text(), timeout=90, what="beat 2")
        already = sent(first_log)
        wait_for(lambda: sent(first_log) >= already + 3, timeout=30, what="three dispatches")

        # The second beat waits for the lock: it dispatches nothing.
        assert "Acquired lock" not in second_log.read_text()
        assert sent(second_log) == 0
        assert second.poll() is None
        assert queue.llen("training") == sent(first_log)

        first.kill()  # a host gone: no warm shutdown, the lock stays until it expires
        first.wait(timeout=10)
        wait_for(lambda: "Acquired lock" in second_log.read_text(), timeout=30, what="takeover")
        wait_for(lambda: sent(second_log) >= 2, timeout=30, what="the survivor's dispatches")
        assert queue.llen("training") == sent(first_log) + sent(second_log)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                stop(process, grace_s=10)
