"""The WebSocket's frame budget is the agent's, not the socket's (assist/ratelimit.py): every
socket of one agent draws on one count, in the shared cache (Redis with REDIS_URL, which all
server processes share; this process's memory in the embedded mode)."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from assist.tokens import token_issue
from config.asgi import application
from tests import factories

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
]


async def socket_for(user) -> WebsocketCommunicator:
    token = await sync_to_async(token_issue)(user=user)
    communicator = WebsocketCommunicator(
        application,
        "/ws/assist/",
        headers=[(b"origin", b"http://testserver"), (b"authorization", f"Token {token}".encode())],
    )
    connected, _ = await communicator.connect()
    assert connected
    assert json.loads(await communicator.receive_from(timeout=10))["type"] == "ready"
    return communicator


async def ping(communicator: WebsocketCommunicator) -> str:
    await communicator.send_to(text_data=json.dumps({"type": "ping"}))
    answer = json.loads(await communicator.receive_from(timeout=10))
    return answer["type"] if answer["type"] == "pong" else answer["code"]


# A window of 4 frames per 400 s: no window ends during the test.
@override_settings(WS_RATE_BURST=4, WS_RATE_PER_SECOND=0.01)
async def test_two_sockets_of_one_agent_share_one_budget(db):
    agent = await sync_to_async(factories.agent)(username="ann")
    other = await sync_to_async(factories.agent)(username="bob")
    first, second = await socket_for(agent), await socket_for(agent)
    theirs = await socket_for(other)

    answers = [await ping(first), await ping(second), await ping(first), await ping(second)]
    assert answers == ["pong"] * 4
    # The budget is spent, whichever socket asks, and a new socket does not bring a new one.
    third = await socket_for(agent)
    assert [await ping(first), await ping(second), await ping(third)] == ["rate_limited"] * 3
    # Another agent's budget is their own.
    assert await ping(theirs) == "pong"
    for communicator in (first, second, third, theirs):
        await communicator.disconnect()


@override_settings(WS_RATE_BURST=4, WS_RATE_PER_SECOND=0.01)
async def test_an_agent_whose_count_lost_its_expiry_is_not_refused_for_good(db):
    from django.core.cache import cache

    agent = await sync_to_async(factories.agent)(username="ann")
    # The state Django's two-step INCR leaves when a window expires between its steps, after
    # many frames: a counter over the budget that never expires and no window start.
    await sync_to_async(cache.set)(f"ratelimit:ws:user:{agent.pk}", 1000, timeout=None)
    communicator = await socket_for(agent)
    assert [await ping(communicator) for _ in range(4)] == ["pong"] * 4
    assert await ping(communicator) == "rate_limited"  # and the budget holds again
    await communicator.disconnect()
