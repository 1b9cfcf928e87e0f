"""The panel's `language` frame: the agent's choice of the conversation's language."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from assist.models import Conversation
from assist.tokens import token_issue
from config.asgi import application
from tests import factories

# serialized_rollback: the flush after each test would drop the role groups from migration 0002.
pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
]

ORIGIN = (b"origin", b"http://testserver")


async def connect(user):
    raw = await sync_to_async(token_issue)(user=user)
    headers = [ORIGIN, (b"authorization", f"Token {raw}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/assist/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    assert json.loads(await communicator.receive_from(timeout=10))["type"] == "ready"
    return communicator


async def frames_until(communicator, kind):
    seen = []
    for _ in range(10):
        frame = json.loads(await communicator.receive_from(timeout=10))
        seen.append(frame)
        if frame["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} frame in {seen}")


@sync_to_async
def language_of(conversation):
    conversation = Conversation.objects.get(pk=conversation.pk)
    return conversation.language, conversation.language_source


async def test_the_agent_sets_the_language_and_the_panel_hears_it():
    agent = await sync_to_async(factories.agent)(username="ann")
    conversation = await sync_to_async(factories.ConversationFactory)(assigned_agent=agent)
    communicator = await connect(agent)
    await communicator.send_to(
        text_data=json.dumps({"type": "subscribe", "conversation": conversation.pk})
    )
    state = (await frames_until(communicator, "state"))[-1]
    assert state["conversation"]["language"] == {"code": "", "source": "", "in_model": True}

    frame = {"type": "language", "conversation": conversation.pk, "language": "es"}
    await communicator.send_to(text_data=json.dumps({**frame, "client_id": "lang-1"}))
    seen = await frames_until(communicator, "language")
    ack = next(f for f in seen if f["type"] == "ack")
    assert (ack["client_id"], ack["kind"]) == ("lang-1", "language")
    assert seen[-1]["language"] == {"code": "es", "source": "agent", "in_model": False}
    assert await language_of(conversation) == ("es", "agent")

    # A code that is not one: an error for that frame, nothing changed.
    await communicator.send_to(
        text_data=json.dumps({**frame, "language": "Spanish!", "client_id": "lang-2"})
    )
    error = (await frames_until(communicator, "error"))[-1]
    assert error["client_id"] == "lang-2"
    assert await language_of(conversation) == ("es", "agent")
    await communicator.disconnect()


async def test_a_supervisor_may_not_set_the_language():
    agent = await sync_to_async(factories.agent)(username="ann")
    supervisor = await sync_to_async(factories.supervisor)(username="sue")
    conversation = await sync_to_async(factories.ConversationFactory)(assigned_agent=agent)
    communicator = await connect(supervisor)
    frame = {"type": "language", "conversation": conversation.pk, "language": "de"}
    await communicator.send_to(text_data=json.dumps({**frame, "client_id": "lang-3"}))
    error = (await frames_until(communicator, "error"))[-1]
    assert error["code"] == "forbidden"
    assert await language_of(conversation) == ("", "")
    await communicator.disconnect()
