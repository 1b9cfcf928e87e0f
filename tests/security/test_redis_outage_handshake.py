"""A handshake while the channel layer (Redis) is unreachable: a clean close with a reason
(1013, try again later), not HTTP 500; the panel reconnects later."""

import socket

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from assist.tokens import token_issue
from config.asgi import application
from tests import factories


def _dead_redis_url() -> str:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_a_handshake_during_a_redis_outage_is_closed_cleanly():
    agent = await sync_to_async(factories.agent)(username="ann")
    raw = await sync_to_async(token_issue)(user=agent)
    layers = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [_dead_redis_url()]},
        }
    }
    with override_settings(CHANNEL_LAYERS=layers):
        communicator = WebsocketCommunicator(
            application,
            "/ws/assist/",
            headers=[
                (b"origin", b"http://testserver"),
                (b"authorization", f"Token {raw}".encode()),
            ],
        )
        connected, _ = await communicator.connect(timeout=20)
        assert connected
        closed = await communicator.receive_output(timeout=20)
        assert closed["type"] == "websocket.close"
        assert closed["code"] == 1013
        assert "reconnect" in closed["reason"]
