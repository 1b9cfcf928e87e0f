"""Pushes from sync code (workers, database threads) reach the consumers of a group.

send_now publishes with a plain Redis client in the channel layer's own format; these tests
hold that to what the real RedisPubSubChannelLayer subscribers receive, on real Redis.
"""

import asyncio
import os
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from assist.live.events import conversation_group, send_now

pytestmark = pytest.mark.asyncio


def pubsub_layer(settings, host: str) -> None:
    # A prefix of its own: Redis channels are shared by every database number and test run.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [host], "prefix": f"test-{uuid.uuid4().hex[:8]}"},
        }
    }


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")
async def test_a_push_from_sync_code_reaches_the_groups_subscribers_only(settings):
    pubsub_layer(settings, os.environ["REDIS_URL"])
    layer = get_channel_layer()
    watching, elsewhere = await layer.new_channel(), await layer.new_channel()
    await layer.group_add(conversation_group(7), watching)
    await layer.group_add(conversation_group(8), elsewhere)
    event = {"type": "assist.suggestions", "frame": {"conversation": 7, "items": [{"p": 0.5}]}}

    await sync_to_async(send_now)(conversation_group(7), event)

    assert await asyncio.wait_for(layer.receive(watching), timeout=5) == event
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(elsewhere), timeout=0.5)
    await layer.flush()


async def test_an_unreachable_redis_is_logged_not_raised(settings, caplog):
    pubsub_layer(settings, "redis://127.0.0.1:1/0")  # nothing listens on port 1

    await sync_to_async(send_now)(conversation_group(7), {"type": "assist.status"})

    assert "live event assist.status to assist.conversation.7 not delivered" in caplog.text
