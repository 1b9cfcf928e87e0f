"""What a client may send before and after signing in: the server (uvicorn, as `manage.py
serve` starts it) refuses frames over WS_MAX_FRAME_BYTES before reading them, and a socket not
signed in at the handshake may send only a few small frames, soon, before its `auth`."""

import json
import os

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from assist.live import consumers
from assist.tokens import token_issue
from config.asgi import application
from devtools.processes import asgi_server, free_port, live_env
from tests import factories

SITE = b"http://testserver"


async def _anonymous() -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/assist/", headers=[(b"origin", SITE)])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _closed_unauthenticated(communicator: WebsocketCommunicator) -> None:
    refused = json.loads(await communicator.receive_from(timeout=5))
    assert (refused["type"], refused["code"]) == ("error", "unauthenticated")
    closed = await communicator.receive_output(timeout=5)
    assert (closed["type"], closed.get("code")) == ("websocket.close", 4401)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_a_large_frame_before_auth_closes_the_socket():
    communicator = await _anonymous()
    await communicator.send_to(text_data=json.dumps({"type": "ping", "padding": "x" * 5000}))
    await _closed_unauthenticated(communicator)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_only_a_few_frames_before_auth():
    communicator = await _anonymous()
    for _ in range(consumers.PRE_AUTH_MAX_FRAMES):
        await communicator.send_to(text_data='{"type": "ping"}')
        assert json.loads(await communicator.receive_from(timeout=5))["type"] == "pong"
    await communicator.send_to(text_data='{"type": "ping"}')
    await _closed_unauthenticated(communicator)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_a_socket_that_never_signs_in_is_closed(monkeypatch):
    monkeypatch.setattr(consumers, "AUTH_TIMEOUT_S", 0.2)
    communicator = await _anonymous()
    await _closed_unauthenticated(communicator)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_the_auth_frame_still_signs_in_and_then_large_frames_are_read():
    agent = await sync_to_async(factories.agent)(username="panel")
    conversation = await sync_to_async(factories.ConversationFactory)(assigned_agent=agent)
    communicator = await _anonymous()
    raw = await sync_to_async(token_issue)(user=agent)
    await communicator.send_to(text_data=json.dumps({"type": "auth", "token": raw}))
    assert json.loads(await communicator.receive_from(timeout=5))["type"] == "ready"
    text = "long message " * 700  # ~9,000 characters: far over the pre-auth bound
    await communicator.send_to(
        text_data=json.dumps(
            {
                "type": "message",
                "conversation": conversation.pk,
                "role": "customer",
                "text": text,
                "client_id": "m-1",
            }
        )
    )
    assert json.loads(await communicator.receive_from(timeout=5))["type"] == "ack"
    await communicator.disconnect()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_server_refuses_an_oversized_frame_before_reading_it(tmp_path, settings):
    agent = factories.agent(username="big")
    raw = token_issue(user=agent)
    env = live_env(redis_url=os.environ.get("REDIS_URL", ""), ranker_dir=tmp_path)
    port = free_port()
    with (
        asgi_server(env, port, log=tmp_path / "server.log") as base,
        connect(
            f"ws://127.0.0.1:{port}/ws/assist/",
            origin=base,
            additional_headers={"Authorization": f"Token {raw}"},
            max_size=None,
        ) as socket,
    ):
        assert json.loads(socket.recv(timeout=10))["type"] == "ready"
        # Just over the bound: the consumer would answer `too_large` and keep the socket,
        # so a close with 1009 (message too big) can only come from the server.
        socket.send("x" * (settings.WS_MAX_FRAME_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
