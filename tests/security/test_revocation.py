"""Access taken away reaches sockets that are already open: a revoked token, a deactivated
user or one who lost the agent role is signed out (error, close 4401); a conversation
reassigned to someone else stops reaching the old agent's socket. Through the full ASGI app,
the in-memory channel layer and the same writes the API and the admin make.
"""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.utils import timezone

from assist.live.events import conversation_group, send_now
from assist.models import AgentToken, Conversation, Message
from assist.tokens import token_issue, token_revoke
from config.asgi import application
from tests import factories

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
]


async def _socket(raw: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application,
        "/ws/assist/",
        headers=[(b"origin", b"http://testserver"), (b"authorization", f"Token {raw}".encode())],
    )
    connected, _ = await communicator.connect()
    assert connected
    assert json.loads(await communicator.receive_from(timeout=10))["type"] == "ready"
    return communicator


async def _send(communicator: WebsocketCommunicator, **frame) -> dict:
    await communicator.send_to(text_data=json.dumps(frame))
    return json.loads(await communicator.receive_from(timeout=10))


async def _signed_out(communicator: WebsocketCommunicator) -> None:
    refused = json.loads(await communicator.receive_from(timeout=5))
    assert (refused["type"], refused["code"]) == ("error", "unauthenticated")
    closed = await communicator.receive_output(timeout=5)
    assert (closed["type"], closed.get("code")) == ("websocket.close", 4401)


@pytest.fixture
def ann(db):
    agent = factories.agent(username="ann")
    return agent, factories.ConversationFactory(assigned_agent=agent)


def _deactivate(agent, raw):
    agent.is_active = False
    agent.save()


def _revoke_in_admin(agent, raw):
    token = AgentToken.objects.get(user=agent, revoked_at__isnull=True, label="first")
    token.revoked_at = timezone.now()
    token.save()


def _remove_agent_role(agent, raw):
    agent.groups.remove(Group.objects.get(name="agent"))


@pytest.mark.parametrize(
    "take_away",
    [lambda agent, raw: token_revoke(raw=raw), _revoke_in_admin, _deactivate, _remove_agent_role],
    ids=["token-revoked", "token-revoked-in-admin", "user-deactivated", "agent-role-removed"],
)
async def test_an_open_socket_is_signed_out_when_its_access_is_taken_away(ann, take_away):
    agent, conversation = ann
    raw = await sync_to_async(token_issue)(user=agent, label="first")
    communicator = await _socket(raw)
    assert (await _send(communicator, type="subscribe", conversation=conversation.pk))[
        "type"
    ] == "state"
    await sync_to_async(take_away)(agent, raw)
    await _signed_out(communicator)
    await communicator.disconnect()
    assert await sync_to_async(Message.objects.count)() == 0


async def test_revoking_one_token_leaves_the_agents_other_sockets_open(ann):
    agent, _ = ann
    first = await sync_to_async(token_issue)(user=agent, label="first")
    second = await sync_to_async(token_issue)(user=agent, label="second")
    revoked, kept = await _socket(first), await _socket(second)
    await sync_to_async(token_revoke)(raw=first)
    await _signed_out(revoked)
    assert (await _send(kept, type="ping"))["type"] == "pong"
    await revoked.disconnect()
    await kept.disconnect()


async def test_a_reassigned_conversation_stops_reaching_the_old_agents_socket(ann):
    agent, conversation = ann
    otto = await sync_to_async(factories.agent)(username="otto")
    communicator = await _socket(await sync_to_async(token_issue)(user=agent))
    await _send(communicator, type="subscribe", conversation=conversation.pk)

    def reassign() -> None:
        moved = Conversation.objects.get(pk=conversation.pk)
        moved.assigned_agent = otto
        moved.save()

    await sync_to_async(reassign)()
    dropped = json.loads(await communicator.receive_from(timeout=5))
    assert (dropped["type"], dropped["code"], dropped["conversation"]) == (
        "error",
        "forbidden",
        conversation.pk,
    )
    # Its lists no longer arrive, and it may no longer write there.
    await sync_to_async(send_now)(
        conversation_group(conversation.pk),
        {"type": "assist.suggestions", "frame": {"conversation": conversation.pk, "seq": 9}},
    )
    assert await communicator.receive_nothing(timeout=0.5)
    refused = await _send(
        communicator,
        type="message",
        conversation=conversation.pk,
        role="agent",
        text="hi",
        client_id="m-1",
    )
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    assert await sync_to_async(Message.objects.count)() == 0
    await communicator.disconnect()
