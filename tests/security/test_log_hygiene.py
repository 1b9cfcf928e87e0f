"""No secret, token, password or message text in the logs by default, after an end-to-end run:
the ASGI server and a real Celery worker on Redis, REST and WebSocket, good and bad requests.
"""

import json
import os
import time
import uuid

import pytest
import requests
from django.contrib.auth.hashers import make_password
from django.core.management import call_command

from assist.models import Pick
from assist.tokens import token_issue, token_revoke
from tests import factories
from tests.live import asgi_server, celery_worker, free_port, live_env, wait_for
from tests.tiny_models import DEMO_CATALOG

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)"),
]

SECRET_KEY = "log-probe-secret-key-" + uuid.uuid4().hex * 2
PASSWORD = "ann-pass-" + uuid.uuid4().hex[:8]


def test_an_end_to_end_run_logs_no_secrets_tokens_or_message_text(demo_ranker_dir, tmp_path):
    from websockets.sync.client import connect

    call_command("import_catalog", DEMO_CATALOG, verbosity=0)
    agent = factories.agent(username="ann")
    agent.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    agent.save(update_fields=["password"])
    conversation = factories.ConversationFactory(assigned_agent=agent)
    token = token_issue(user=agent)
    revoked = token_issue(user=agent)
    token_revoke(raw=revoked)
    texts = [f"PRIVATE-{n}-{uuid.uuid4().hex} my card 4111 1111 1111 1111 lost" for n in range(3)]
    env = live_env(
        redis_url=os.environ["REDIS_URL"],
        ranker_dir=demo_ranker_dir,
        SECRET_KEY=SECRET_KEY,
        LIVE_LOG_DIR=str(tmp_path),
    )
    env.pop("LOG_LEVEL", None)  # the default level
    server_log = tmp_path / "server.log"
    auth = {"Authorization": f"Token {token}"}
    port = free_port()

    with celery_worker(env), asgi_server(env, port, log=server_log) as base:
        api = f"{base}/api/conversations/{conversation.pk}"
        # REST: a customer message, its suggestions, a pick.
        sent = requests.post(
            f"{api}/messages",
            json={"role": "customer", "text": texts[0], "client_id": "c-0"},
            headers=auth,
            timeout=10,
        )
        assert sent.status_code == 201
        latest: dict = {}

        def ranked() -> bool:
            answer = requests.get(f"{api}/suggestions/latest", headers=auth, timeout=10)
            latest.update(answer.json() if answer.status_code == 200 else {})
            return bool(latest)

        wait_for(ranked, timeout=60, what="the first suggestions")
        top = latest["items"][0]["key"]
        pick = {
            "conversation": conversation.pk,
            "suggestion": latest["suggestion"],
            "template": top,
            "rank": 1,
            "action": "inserted",
            "client_id": "p-rest",
        }
        assert requests.post(f"{base}/api/picks", json=pick, headers=auth, timeout=10).ok
        # Refusals, which are logged as warnings.
        for bad in (revoked, "guess-" + token[6:]):
            refused = requests.get(api, headers={"Authorization": f"Token {bad}"}, timeout=10)
            assert refused.status_code == 401
        session = requests.Session()
        session.get(f"{base}/accounts/login/", timeout=10)
        login = session.post(
            f"{base}/accounts/login/",
            data={
                "username": "ann",
                "password": PASSWORD,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": f"{base}/accounts/login/"},
            timeout=10,
        )
        assert login.ok
        no_csrf = session.post(f"{api}/messages", json={"text": texts[2]}, timeout=10)
        assert no_csrf.status_code == 403
        wrong = requests.post(
            f"{base}/accounts/login/", data={"username": "ann", "password": texts[2]}, timeout=10
        )
        assert wrong.status_code == 403  # no CSRF cookie: refused before the password is read

        # WebSocket: the token in the handshake, a message, a pick through the worker, bad frames.
        ws_url = f"ws://127.0.0.1:{port}/ws/assist/"
        with connect(ws_url, origin=base, additional_headers=auth) as socket:
            assert json.loads(socket.recv(timeout=10))["type"] == "ready"
            socket.send(json.dumps({"type": "subscribe", "conversation": conversation.pk}))
            assert json.loads(socket.recv(timeout=10))["type"] == "state"
            socket.send(
                json.dumps(
                    {
                        "type": "message",
                        "conversation": conversation.pk,
                        "role": "customer",
                        "text": texts[1],
                        "client_id": "c-1",
                    }
                )
            )
            frames = [json.loads(socket.recv(timeout=30)) for _ in range(2)]
            suggestions = next(f for f in frames if f["type"] == "suggestions")
            item = suggestions["items"][0]
            socket.send(
                json.dumps(
                    {
                        "type": "pick",
                        "conversation": conversation.pk,
                        "suggestion": suggestions["suggestion"],
                        "template": item["key"],
                        "rank": 1,
                        "action": "inserted",
                        "client_id": "p-ws",
                    }
                )
            )
            assert json.loads(socket.recv(timeout=30))["type"] == "ack"
            socket.send(json.dumps({"type": "auth", "token": token}))  # "already authenticated"
            socket.send(texts[2])  # not JSON: its parse error must not echo it into a log
            for _ in range(2):
                assert json.loads(socket.recv(timeout=10))["type"] == "error"
        with connect(ws_url, origin=base) as socket:
            socket.send(json.dumps({"type": "auth", "token": revoked}))
            assert json.loads(socket.recv(timeout=10))["code"] == "unauthenticated"
        time.sleep(1)  # let the worker finish writing

    assert Pick.objects.count() == 2
    logs = {path.name: path.read_text() for path in tmp_path.glob("*.log")}
    assert set(logs) == {"server.log", "worker-w1.log"}
    assert "succeeded" in logs["worker-w1.log"]  # the worker did log, at its default level
    assert "WebSocket /ws/assist/" in logs["server.log"]
    forbidden = {
        "secret key": SECRET_KEY,
        "token": token,
        "token prefix": token[:12],
        "revoked token": revoked,
        "password": PASSWORD,
        **{f"message {n}": text for n, text in enumerate(texts)},
        "message body": "4111 1111",
    }
    leaks = [
        (log, what) for log, text in logs.items() for what, s in forbidden.items() if s in text
    ]
    assert leaks == []
