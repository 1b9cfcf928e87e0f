"""Drill: PostgreSQL briefly unreachable under a running server.

The shared PostgreSQL is never stopped: the server reaches it through a loopback TCP proxy that
the test cuts (new connections refused, open ones dropped) and restores. While it is cut, REST
answers 503 with a JSON `unavailable` code and the socket an `unavailable` error frame, quickly;
nothing is half-written; afterwards the same requests (same client ids) succeed, once.
"""

import json
import time

import pytest
import requests

from assist.models import Message, Pick
from tests.live import asgi_server, free_port, live_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def proxied_env(drill_agent, database_proxy, tmp_path):
    proxy, url = database_proxy
    # Embedded mode (no Redis): this drill is about the database alone.
    env = live_env(redis_url="", ranker_dir=tmp_path / "no-model", DATABASE_URL=url)
    return proxy, env


def test_requests_fail_clearly_while_the_database_is_away_and_succeed_after(
    proxied_env, drill_agent
):
    from websockets.sync.client import connect

    proxy, env = proxied_env
    _, conversation, token = drill_agent
    template = "greeting.standard"
    headers = {"Authorization": f"Token {token}"}
    port = free_port()
    with asgi_server(env, port) as base:
        messages = f"{base}/api/conversations/{conversation.pk}/messages"
        picks = f"{base}/api/picks"
        message = {"role": "agent", "text": "One moment please", "client_id": "m-during"}
        pick = {
            "conversation": conversation.pk,
            "suggestion": None,
            "template": template,
            "rank": None,
            "action": "inserted",
            "client_id": "p-during",
        }
        frame = {"type": "message", "conversation": conversation.pk, "role": "agent"}
        with connect(
            f"ws://127.0.0.1:{port}/ws/assist/", origin=base, additional_headers=headers
        ) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "ready"

            proxy.cut()
            started = time.monotonic()
            for url, body in ((messages, message), (picks, pick)):
                refused = requests.post(url, json=body, headers=headers, timeout=15)
                assert refused.status_code == 503, refused.text
                assert refused.json()["code"] == "unavailable"
                assert refused.headers["Retry-After"]
            listed = requests.get(f"{base}/api/conversations", headers=headers, timeout=15)
            assert listed.status_code == 503
            ws.send(json.dumps({**frame, "text": "Checking now", "client_id": "ws-during"}))
            error = json.loads(ws.recv(timeout=15))
            assert (error["type"], error["code"], error["client_id"]) == (
                "error",
                "unavailable",
                "ws-during",
            )
            assert time.monotonic() - started < 15  # each failure is quick, not a hang
            assert (Message.objects.count(), Pick.objects.count()) == (0, 0)

            proxy.start()
            # As a client does with a 503 and its Retry-After: send it again, same client id.
            # The web process's connection pool reconnects on its own schedule (with backoff),
            # so the first requests after the database is back may still be refused.
            deadline = time.monotonic() + 30
            ok = requests.post(messages, json=message, headers=headers, timeout=15)
            while ok.status_code == 503 and time.monotonic() < deadline:
                time.sleep(float(ok.headers.get("Retry-After", "1")))
                ok = requests.post(messages, json=message, headers=headers, timeout=15)
            assert (ok.status_code, ok.json()["created"]) == (201, True)
            assert requests.post(picks, json=pick, headers=headers, timeout=15).status_code == 201
            ws.send(json.dumps({**frame, "text": "Checking now", "client_id": "ws-during"}))
            # (The REST pick's own ack reaches this agent's socket too.)
            acks = [json.loads(ws.recv(timeout=15)) for _ in range(2)]
            assert {(a["type"], a["client_id"]) for a in acks} == {
                ("ack", "p-during"),
                ("ack", "ws-during"),
            }
            again = requests.post(messages, json=message, headers=headers, timeout=15)
            assert (again.status_code, again.json()["created"]) == (200, False)

    stored = sorted(Message.objects.values_list("client_id", flat=True))
    assert stored == ["m-during", "ws-during"]
    assert list(Pick.objects.values_list("client_id", flat=True)) == ["p-during"]
