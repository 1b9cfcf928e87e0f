"""The agent socket's doors, at the boundary (WebsocketCommunicator against the full ASGI app):
Origin, tokens, whose conversation, and the per-agent rate limit. Every refusal is also checked
for what it must not have done: no group joined, no row stored.
"""

import datetime as dt
import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.utils import timezone

from assist.models import AgentToken, Message, Pick
from assist.tokens import token_issue, token_revoke
from config.asgi import application
from tests import factories

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
]

SITE = b"http://testserver"
EXTENSION = "chrome-extension://ahoffllcecjahnpocfcmdkakdjkjakam"


async def open_socket(*, origin=SITE, token=None, path="/ws/assist/"):
    headers = [(b"origin", origin)] if origin is not None else []
    if token is not None:
        headers.append((b"authorization", f"Token {token}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def frame(communicator, **fields):
    await communicator.send_to(text_data=json.dumps(fields))
    return json.loads(await communicator.receive_from(timeout=10))


def joined_groups() -> set[str]:
    """Groups of the in-memory layer that have at least one member."""
    return {name for name, members in get_channel_layer().groups.items() if members}


@pytest.fixture
def ann(db):
    agent = factories.agent(username="ann")
    return agent, factories.ConversationFactory(assigned_agent=agent)


@pytest.fixture
def fresh_layer():
    get_channel_layer().flush  # noqa: B018 - the layer exists
    get_channel_layer().groups.clear()
    yield
    get_channel_layer().groups.clear()


# --- Origin ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [None, b"https://evil.example", b"http://testserver.evil.example", b"chrome-extension://other"],
    ids=["no-origin", "foreign-site", "lookalike-host", "unlisted-extension"],
)
@override_settings(EXTENSION_ORIGINS=[EXTENSION])
async def test_an_unlisted_or_missing_origin_is_refused_at_the_handshake(ann, origin):
    agent, _ = ann
    raw = await sync_to_async(token_issue)(user=agent)
    communicator, connected, _ = await open_socket(origin=origin, token=raw)
    assert not connected
    await communicator.disconnect()


@override_settings(EXTENSION_ORIGINS=[EXTENSION])
async def test_the_configured_extension_origin_and_the_site_itself_pass(ann):
    agent, _ = ann
    raw = await sync_to_async(token_issue)(user=agent)
    for origin in (EXTENSION.encode(), SITE):
        communicator, connected, _ = await open_socket(origin=origin, token=raw)
        assert connected
        assert json.loads(await communicator.receive_from())["type"] == "ready"
        await communicator.disconnect()


async def test_the_extension_origin_is_refused_until_it_is_configured(ann):
    agent, _ = ann
    raw = await sync_to_async(token_issue)(user=agent)
    _, connected, _ = await open_socket(origin=EXTENSION.encode(), token=raw)
    assert not connected


# --- Tokens ---------------------------------------------------------------------------------


async def _expired(agent) -> str:
    raw = await sync_to_async(token_issue)(user=agent)
    await sync_to_async(
        lambda: AgentToken.objects.update(created_at=timezone.now() - dt.timedelta(days=31))
    )()
    return raw


async def _revoked(agent) -> str:
    raw = await sync_to_async(token_issue)(user=agent)
    await sync_to_async(token_revoke)(raw=raw)
    return raw


async def _unknown(agent) -> str:
    return "not-a-token-anyone-was-given"


@pytest.mark.parametrize("make_token", [_expired, _revoked, _unknown])
async def test_a_bad_token_is_refused_before_anything_is_joined(ann, fresh_layer, make_token):
    agent, _ = ann
    raw = await make_token(agent)
    # In the handshake header: closed before accept.
    _, connected, code = await open_socket(token=raw)
    assert (connected, code) == (False, 4401)
    # In an `auth` frame (the extension's side panel): an error, then the socket is closed.
    communicator, connected, _ = await open_socket()
    assert connected
    refused = await frame(communicator, type="auth", token=raw)
    assert (refused["type"], refused["code"]) == ("error", "unauthenticated")
    assert (await communicator.receive_output(timeout=5))["type"] == "websocket.close"
    assert joined_groups() == set()


async def test_a_token_that_just_expired_stops_working(ann, settings):
    agent, _ = ann
    raw = await sync_to_async(token_issue)(user=agent)
    _, connected, _ = await open_socket(token=raw)
    assert connected
    settings.AGENT_TOKEN_TTL_DAYS = 0
    _, connected, code = await open_socket(token=raw)
    assert (connected, code) == (False, 4401)


async def test_without_a_token_nothing_is_joined_or_stored(ann, fresh_layer):
    _, conversation = ann
    communicator, connected, _ = await open_socket()
    assert connected  # a page may still send its `auth` frame
    for kind, extra in [
        ("subscribe", {}),
        ("message", {"role": "customer", "text": "hi", "client_id": "m1"}),
        ("search", {"query": "card"}),
    ]:
        answer = await frame(communicator, type=kind, conversation=conversation.pk, **extra)
        assert (answer["type"], answer["code"]) == ("error", "unauthenticated")
    assert joined_groups() == set()
    assert await sync_to_async(Message.objects.count)() == 0
    await communicator.disconnect()


async def test_a_token_in_the_url_is_ignored(ann, fresh_layer):
    agent, _ = ann
    raw = await sync_to_async(token_issue)(user=agent)
    communicator, connected, _ = await open_socket(path=f"/ws/assist/?token={raw}")
    assert connected
    answer = await frame(communicator, type="subscribe", conversation=1)
    assert answer["code"] == "unauthenticated"
    assert joined_groups() == set()
    await communicator.disconnect()


# --- Whose conversation ---------------------------------------------------------------------


async def test_another_agents_conversation_is_forbidden_on_the_socket(ann, fresh_layer):
    agent, _ = ann
    theirs = await sync_to_async(factories.ConversationFactory)()
    template = await sync_to_async(factories.TemplateFactory)()
    raw = await sync_to_async(token_issue)(user=agent)
    communicator, _, _ = await open_socket(token=raw)
    await communicator.receive_from()  # ready
    frames = [
        {"type": "subscribe", "conversation": theirs.pk},
        {"type": "search", "query": "card", "conversation": theirs.pk},
        {
            "type": "message",
            "conversation": theirs.pk,
            "role": "customer",
            "text": "hi",
            "client_id": "m1",
        },
        {
            "type": "pick",
            "conversation": theirs.pk,
            "suggestion": None,
            "template": template.key,
            "rank": None,
            "action": "inserted",
            "client_id": "p1",
        },
    ]
    for sent in frames:
        answer = await frame(communicator, **sent)
        assert (answer["type"], answer["code"]) == ("error", "forbidden"), sent["type"]
    assert joined_groups() == {f"assist.agent.{agent.pk}"}
    counts = await sync_to_async(lambda: (Message.objects.count(), Pick.objects.count()))()
    assert counts == (0, 0)
    await communicator.disconnect()


async def test_a_catalog_admin_gets_a_closed_socket(db):
    admin = await sync_to_async(factories.catalog_admin)()
    raw = await sync_to_async(token_issue)(user=admin)
    communicator, connected, _ = await open_socket(token=raw)
    assert connected
    refused = json.loads(await communicator.receive_from())
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    closed = await communicator.receive_output(timeout=5)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4403)


# --- Rate limit -----------------------------------------------------------------------------


@override_settings(WS_RATE_BURST=3, WS_RATE_PER_SECOND=0.01)
async def test_a_burst_of_picks_is_rate_limited_for_that_agent_only(ann):
    agent, conversation = ann
    other = await sync_to_async(factories.agent)(username="bob")
    theirs = await sync_to_async(factories.ConversationFactory)(assigned_agent=other)
    template = await sync_to_async(factories.TemplateFactory)()

    def pick(conversation_id, n):
        return {
            "type": "pick",
            "conversation": conversation_id,
            "suggestion": None,
            "template": template.key,
            "rank": None,
            "action": "inserted",
            "client_id": f"{conversation_id}-{n}",
        }

    ann_socket, _, _ = await open_socket(token=await sync_to_async(token_issue)(user=agent))
    bob_socket, _, _ = await open_socket(token=await sync_to_async(token_issue)(user=other))
    await ann_socket.receive_from()
    await bob_socket.receive_from()

    answers = [await frame(ann_socket, **pick(conversation.pk, n)) for n in range(6)]
    assert [a["type"] for a in answers[:3]] == ["ack"] * 3
    limited = answers[3:]
    assert {(a["type"], a["code"]) for a in limited} == {("error", "rate_limited")}
    assert [a["client_id"] for a in limited] == [f"{conversation.pk}-{n}" for n in (3, 4, 5)]
    # Bob's socket has its own allowance.
    assert (await frame(bob_socket, **pick(theirs.pk, 0)))["type"] == "ack"
    stored = await sync_to_async(lambda: sorted(Pick.objects.values_list("client_id", flat=True)))()
    assert stored == sorted([*(f"{conversation.pk}-{n}" for n in range(3)), f"{theirs.pk}-0"])
    await ann_socket.disconnect()
    await bob_socket.disconnect()
