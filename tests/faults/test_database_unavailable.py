"""Drill: PostgreSQL briefly unreachable under a running server.

The shared PostgreSQL is never stopped: the server reaches it through a loopback TCP proxy that
the test cuts (new connections refused, open ones dropped) and restores. While it is cut, REST
answers 503 with a JSON `unavailable` code and the socket an `unavailable` error frame, quickly;
nothing is half-written; afterwards the same requests (same client ids) succeed, once.
"""

import contextlib
import json
import socket
import threading
import time

import pytest
import requests
from django.db import connection

from assist.models import Message, Pick
from tests.live import asgi_server, database_url, free_port, live_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


class TcpProxy:
    """127.0.0.1:port → target, with a switch."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def cut(self) -> None:
        assert self._listener is not None
        # shutdown() first: close() alone leaves a socket that a thread is accepting on open.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxied_env(drill_agent, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.start()
    url = database_url().replace(f":{db['PORT'] or 5432}/", f":{proxy.port}/")
    # Embedded mode (no Redis): this drill is about the database alone.
    env = live_env(redis_url="", ranker_dir=tmp_path / "no-model", DATABASE_URL=url)
    yield proxy, env
    with contextlib.suppress(OSError):
        proxy.cut()


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
