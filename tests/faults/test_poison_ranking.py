"""Drill: a customer message whose ranking kills the worker process every time (poison input).

acks_late + reject_on_worker_lost put the task back each time its process dies; without a
bound it would crash-loop the inference queue for ever. It must stop after RANK_MAX_ATTEMPTS
deliveries, be recorded as failed (an error in the log, `status` to the panels), leave the
message stored, and leave the worker serving.
"""

import json
import os

import pytest

from assist.models import Message, Suggestion
from tests.faults.conftest import (
    DRILL_APP,
    Panel,
    deliveries,
    settle,
    wait_for_log,
    worker_log,
)
from tests.live import asgi_server, celery_worker, free_port, live_env, post_customer_message

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)"),
]


def test_a_ranking_that_always_kills_the_worker_stops_and_is_recorded_as_failed(
    private_redis, drill_agent, demo_ranker_dir, tmp_path
):
    _, conversation, token = drill_agent
    env = live_env(
        redis_url=private_redis.url,
        ranker_dir=demo_ranker_dir,
        LIVE_LOG_DIR=str(tmp_path),
        DRILL_FAULTS="rank:crash",
        RANK_MAX_ATTEMPTS="2",
    )
    port = free_port()
    with celery_worker(env, app=DRILL_APP) as worker, asgi_server(env, port) as base:
        panel = Panel(f"ws://127.0.0.1:{port}/ws/assist/", base, token, conversation.pk)
        try:
            panel.connect(timeout=10)
            message_id = post_customer_message(base, token, conversation.pk, "poison")
            wait_for_log(tmp_path, f"message {message_id} abandoned after 2 attempts", timeout=120)
            status = json.loads(panel.socket.recv(timeout=10))
            assert status == {"type": "status", "assist_available": False}
        finally:
            panel.close()

        settle(5)  # long enough for a fifth delivery, were there one
        log = worker_log(tmp_path)
        assert deliveries(log, "rank") == 3  # two that crashed, one that recorded the failure
        assert log.count("exited with 'exitcode 70'") == 2
        assert worker.poll() is None  # the worker itself is still up

    assert Message.objects.filter(pk=message_id).exists()
    assert not Suggestion.objects.exists()
