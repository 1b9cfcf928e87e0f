"""Drill: Redis (broker, channel layer and cache) dies and comes back while an agent is connected.

A private redis-server (never the shared one) is killed and restarted on the same port. While
it is away, messages and picks are still stored (degraded mode); the agent's socket may drop and
the panel reconnects and catches up through `state`. Afterwards the server and the worker have
reconnected by themselves: a new customer message is ranked and pushed, and a pick through the
worker is stored. No stored message or pick is lost.
"""

import os
import time
import uuid

import pytest
import requests

from assist.models import Message, Pick
from tests.faults.conftest import Panel
from tests.live import asgi_server, celery_worker, free_port, live_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)"),
]


def post(base: str, path: str, token: str, body: dict) -> requests.Response:
    return requests.post(
        f"{base}{path}", json=body, headers={"Authorization": f"Token {token}"}, timeout=20
    )


def test_redis_restart_loses_nothing_and_everything_reconnects(
    private_redis, drill_agent, demo_ranker_dir, tmp_path
):
    _, conversation, token = drill_agent
    env = live_env(redis_url=private_redis.url, ranker_dir=demo_ranker_dir)
    env["LIVE_LOG_DIR"] = str(tmp_path)
    port = free_port()
    messages = f"/api/conversations/{conversation.pk}/messages"

    def customer(text: str) -> int:
        answer = post(base, messages, token, {"role": "customer", "text": text, "client_id": text})
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    with celery_worker(env) as worker, asgi_server(env, port) as base:
        panel = Panel(f"ws://127.0.0.1:{port}/ws/assist/", base, token, conversation.pk)
        panel.connect(timeout=30)
        first = customer("my card was charged twice")
        assert panel.next("suggestions", timeout=60)["message"] == first

        private_redis.kill()
        # Degraded mode: stored all the same, and quickly.
        started = time.monotonic()
        during = customer("are you still there")
        search_pick = {
            "conversation": conversation.pk,
            "suggestion": None,
            "template": "greeting.standard",
            "rank": None,
            "action": "inserted",
            "client_id": "pick-during-outage",
        }
        assert post(base, "/api/picks", token, search_pick).status_code == 201
        assert time.monotonic() - started < 20

        private_redis.start()
        time.sleep(1)
        if not panel.alive():
            state = panel.connect(timeout=60)  # what panel.js does on close
        else:
            panel.send(type="subscribe", conversation=conversation.pk)
            state = panel.next("state", timeout=10)
        assert [m["id"] for m in state["messages"]] == [first, during]

        # The worker reconnects to the broker and the server to the channel layer by themselves.
        deadline = time.monotonic() + 90
        after = None
        while after is None:
            text = f"card still not working {uuid.uuid4().hex[:6]}"
            message_id = customer(text)
            try:
                frame = panel.next("suggestions", timeout=15)
                if frame["message"] == message_id:
                    after = frame
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise
                if not panel.alive():
                    panel.connect(timeout=30)
        item = after["items"][0]
        panel.send(
            type="pick",
            conversation=conversation.pk,
            suggestion=after["suggestion"],
            template=item["key"],
            rank=1,
            action="inserted",
            client_id="pick-after-restart",
        )
        assert panel.next("ack", timeout=60)["client_id"] == "pick-after-restart"
        panel.close()
        assert worker.poll() is None  # the same worker process, reconnected

    texts = list(Message.objects.filter(conversation=conversation).values_list("id", flat=True))
    assert {first, during, after["message"]} <= set(texts)
    assert sorted(Pick.objects.values_list("client_id", flat=True)) == [
        "pick-after-restart",
        "pick-during-outage",
    ]
