"""Drills: a worker killed with SIGKILL in the middle of a ranking, and one that dies right after
storing a pick. The ranking is redelivered and its suggestions arrive; the pick is stored once.

The ranking is made slow (a test-only sleep, tests/faults/drill_app.py) so that the kill lands while
it runs. Both the pool process alone (the pool replaces it and reject_on_worker_lost requeues
the task at once) and the whole worker (its unacknowledged message comes back to a new worker
after the broker's visibility timeout) are killed.
"""

import os
import signal
import subprocess

import pytest
import requests

from assist.models import Pick, Suggestion
from tests.faults.conftest import (
    DRILL_APP,
    Panel,
    deliveries,
    wait_for_log,
    worker_log,
)
from tests.live import (
    asgi_server,
    celery_worker,
    free_port,
    live_env,
    post_customer_message,
    wait_for,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)"),
]


def pool_processes(worker: subprocess.Popen) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_a_pool_process_killed_mid_ranking_and_one_dying_after_a_pick(
    private_redis, drill_agent, demo_ranker_dir, tmp_path
):
    _, conversation, token = drill_agent
    env = live_env(
        redis_url=private_redis.url,
        ranker_dir=demo_ranker_dir,
        LIVE_LOG_DIR=str(tmp_path),
        DRILL_FAULTS=f"rank:sleep=12,log_pick.stored:crash-once={tmp_path / 'pick-crash'}",
    )
    port = free_port()
    with celery_worker(env, app=DRILL_APP) as worker, asgi_server(env, port) as base:
        panel = Panel(f"ws://127.0.0.1:{port}/ws/assist/", base, token, conversation.pk)
        try:
            panel.connect(timeout=10)
            message_id = post_customer_message(base, token, conversation.pk, "my card was stolen")
            wait_for_log(tmp_path, "fault drill: sleep at rank", timeout=60)
            [pool] = pool_processes(worker)
            os.kill(pool, signal.SIGKILL)  # in the middle of the (slow) ranking
            frame = panel.next("suggestions", timeout=120)
            assert frame["message"] == message_id

            panel.send(
                type="pick",
                conversation=conversation.pk,
                suggestion=frame["suggestion"],
                template=frame["items"][0]["key"],
                rank=1,
                action="inserted",
                client_id="pick-once",
            )
            ack = panel.next("ack", timeout=60)
            # The pool process died after storing it, before acknowledging the task: the
            # redelivered task finds the row and acknowledges it again, storing nothing twice.
            again = panel.next("ack", timeout=120)
            assert ack["id"] == again["id"]
        finally:
            panel.close()

        log = worker_log(tmp_path)
        assert deliveries(log, "rank") == 2
        assert deliveries(log, "log_pick") == 2
        # The kill landed while the ranking ran, and the broker's copy was what came back.
        assert "WorkerLostError('Worker exited prematurely: signal 9 (SIGKILL)" in log
        assert worker.poll() is None

    assert Suggestion.objects.filter(message_id=message_id).count() == 1
    assert list(Pick.objects.values_list("client_id", flat=True)) == ["pick-once"]


def test_a_whole_worker_killed_mid_ranking_the_next_worker_ranks(
    private_redis, drill_agent, demo_ranker_dir, tmp_path
):
    _, conversation, token = drill_agent
    env = live_env(
        redis_url=private_redis.url,
        ranker_dir=demo_ranker_dir,
        LIVE_LOG_DIR=str(tmp_path),
        DRILL_FAULTS="rank:sleep=6",
        # Short enough for a drill; the time limits stay below it, as in production.
        CELERY_VISIBILITY_TIMEOUT="15",
        CELERY_TASK_SOFT_TIME_LIMIT="10",
        CELERY_TASK_TIME_LIMIT="12",
    )
    port = free_port()
    with asgi_server(env, port) as base:
        with celery_worker(env, name="doomed", app=DRILL_APP) as doomed:
            message_id = post_customer_message(base, token, conversation.pk, "my card was stolen")
            wait_for_log(tmp_path, "fault drill: sleep at rank", timeout=60, name="doomed")
            for pid in [*pool_processes(doomed), doomed.pid]:
                os.kill(pid, signal.SIGKILL)
            doomed.wait(timeout=10)
        assert not Suggestion.objects.exists()

        # kombu's Redis transport looks for expired unacknowledged messages only about every
        # 100 s, so this takes up to two minutes even with a short visibility timeout.
        with celery_worker(env, name="heir", app=DRILL_APP):
            latest = f"{base}/api/conversations/{conversation.pk}/suggestions/latest"
            headers = {"Authorization": f"Token {token}"}
            wait_for(
                lambda: requests.get(latest, headers=headers, timeout=10).status_code == 200,
                timeout=180,
                what="the redelivered ranking",
            )
        assert deliveries(worker_log(tmp_path, "heir"), "rank") == 1

    assert Suggestion.objects.filter(message_id=message_id).count() == 1
