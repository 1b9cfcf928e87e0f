"""What the fault drills share: a private Redis they may kill, a proxy that cuts PostgreSQL, the
live stack's environment, an agent's panel socket, and helpers that post a customer message and
read what the worker logged. Everything runs on loopback and is bounded.
"""

import contextlib
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.db import connection

from assist.tokens import token_issue
from tests import factories
from tests.live import browser_agent, database_url, free_port, wait_for
from tests.tiny_models import DEMO_CATALOG

# The drills' workers run this Celery app: the product's, plus the faults DRILL_FAULTS names.
DRILL_APP = "tests.faults.drill_app"


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port, which it may kill and restart
    (never the shared one)."""

    def __init__(
        self, workdir: Path, bind: tuple[str, ...] = ("127.0.0.1",), password: str = ""
    ) -> None:
        self.port = free_port()
        self.workdir = workdir
        # Redis refuses other hosts without a password (protected mode), as it should.
        self.bind, self.password = bind, password
        self.process: subprocess.Popen | None = None
        self.url = self.url_at("127.0.0.1")

    def url_at(self, address: str) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{address}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", *self.bind, "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.workdir),
             *(["--requirepass", self.password] if self.password else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(
            port=self.port, password=self.password or None, socket_connect_timeout=0.5
        )
        wait_for(lambda: self._ping(client), timeout=15, what="the private Redis")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    @staticmethod
    def _ping(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False


@pytest.fixture
def private_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.kill()


@pytest.fixture
def drill_agent(db):
    """Agent 'ann' (who may log in to the live server), a conversation of hers and a token."""
    call_command("import_catalog", DEMO_CATALOG, verbosity=0)
    agent = browser_agent()
    conversation = factories.ConversationFactory(assigned_agent=agent, customer_name="Jo Park")
    return agent, conversation, token_issue(user=agent)


def worker_log(tmp_path: Path, name: str = "w1") -> str:
    return (tmp_path / f"worker-{name}.log").read_text()


def deliveries(log: str, task: str) -> int:
    """How many times the worker received `task` (Celery logs each delivery at INFO)."""
    return len(re.findall(rf"Task assist\.tasks\.{task}\[[^\]]+\] received", log))


def wait_for_log(tmp_path: Path, text: str, *, timeout: float, name: str = "w1") -> None:
    wait_for(lambda: text in worker_log(tmp_path, name), timeout=timeout, what=repr(text))


def settle(seconds: float) -> None:
    time.sleep(seconds)


class Panel:
    """What panel.js does with its socket: reconnect with backoff, subscribe, keep frames."""

    def __init__(self, url: str, origin: str, token: str, conversation_id: int) -> None:
        self.url, self.origin, self.token = url, origin, token
        self.conversation_id = conversation_id
        self.socket = None
        self._sockets = contextlib.ExitStack()

    def connect(self, *, timeout: float) -> dict:
        """(Re)connect and subscribe; returns the `state` frame."""
        from websockets.sync.client import connect

        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            try:
                self.socket = self._sockets.enter_context(
                    connect(
                        self.url,
                        origin=self.origin,
                        additional_headers={"Authorization": f"Token {self.token}"},
                        open_timeout=5,
                    )
                )
                self.next("ready", timeout=10)
                self.send(type="subscribe", conversation=self.conversation_id)
                return self.next("state", timeout=10)
            except Exception as error:  # refused, closed or timed out: try again
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the panel could not reconnect: {error!r}") from error
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def send(self, **frame) -> None:
        self.socket.send(json.dumps(frame))

    def next(self, kind: str, *, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            frame = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if frame["type"] == kind:
                return frame

    def close(self) -> None:
        self._sockets.close()

    def alive(self) -> bool:
        try:
            self.send(type="ping")
            self.next("pong", timeout=5)
            return True
        except Exception:
            return False


class TcpProxy:
    """host:port → target, with a switch."""

    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.target = target
        self.host = host
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        self._listener = socket.create_server((self.host, self.port))
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
def database_proxy():
    """A loopback proxy in front of the test database that a drill cuts and restores, and the
    database URL through it; PostgreSQL only (SQLite is a file)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.start()
    yield proxy, database_url().replace(f":{db['PORT'] or 5432}/", f":{proxy.port}/")
    with contextlib.suppress(OSError):
        proxy.cut()
