"""The WebSocket protocol at its boundary: WebsocketCommunicator against the full ASGI app.

These run in embedded mode (the ranking runs in-process when the message commits); the worker
path has its own end-to-end test with real processes.
"""

import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from assist.models import Message, Pick, Suggestion
from assist.tokens import token_issue
from config.asgi import application
from templates_app.models import ResponseTemplate
from tests import factories

# serialized_rollback: the flush after each test would drop the role groups from migration 0002.
pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
]

ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture
def demo_catalog(db):
    from django.core.management import call_command

    from tests.tiny_models import DEMO_CATALOG

    call_command("import_catalog", DEMO_CATALOG, verbosity=0)


@pytest.fixture
def ranker_dir(demo_ranker_dir, settings):
    settings.RANKER_DIR = demo_ranker_dir
    return demo_ranker_dir


async def connect(user=None, *, token=None, origin=ORIGIN):
    headers = [origin] if origin else []
    if user is not None:
        raw = await sync_to_async(token_issue)(user=user)
        headers.append((b"authorization", f"Token {raw}".encode()))
    elif token is not None:
        headers.append((b"authorization", f"Token {token}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/assist/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def send(communicator, **frame):
    await communicator.send_to(text_data=json.dumps(frame))
    return json.loads(await communicator.receive_from(timeout=10))


async def receive_type(communicator, kind, timeout=10):
    """The next frame of `kind`, skipping others (e.g. an ack before the suggestions)."""
    for _ in range(10):
        frame = json.loads(await communicator.receive_from(timeout=timeout))
        if frame["type"] == kind:
            return frame
    raise AssertionError(f"no {kind} frame")


@pytest.fixture
def agent_and_conversation(db):
    agent = factories.agent(username="ann", first_name="Ann")
    conversation = factories.ConversationFactory(assigned_agent=agent, customer_name="Jo Park")
    return agent, conversation


async def test_ready_lists_the_agents_open_conversations(agent_and_conversation):
    agent, conversation = agent_and_conversation
    communicator, connected, _ = await connect(agent)
    assert connected
    ready = json.loads(await communicator.receive_from())
    assert ready["type"] == "ready"
    assert [c["id"] for c in ready["conversations"]] == [conversation.pk]
    assert await send(communicator, type="ping") == {"type": "pong"}
    await communicator.disconnect()


async def test_customer_message_to_suggestions_to_pick(
    agent_and_conversation, demo_catalog, ranker_dir
):
    agent, conversation = agent_and_conversation
    communicator, _, _ = await connect(agent)
    await communicator.receive_from()  # ready
    state = await send(communicator, type="subscribe", conversation=conversation.pk)
    assert state["type"] == "state"
    assert state["suggestions"] is None

    client_id = str(uuid.uuid4())
    await communicator.send_to(
        text_data=json.dumps(
            {
                "type": "message",
                "conversation": conversation.pk,
                "role": "customer",
                "text": "I was charged twice for the same purchase at the supermarket",
                "client_id": client_id,
            }
        )
    )
    ack = await receive_type(communicator, "ack")
    assert ack["client_id"] == client_id
    frame = await receive_type(communicator, "suggestions")
    assert frame["conversation"] == conversation.pk
    assert frame["seq"] == 1
    assert 1 <= len(frame["items"]) <= 5
    # What is ranked is the tiny test model's business (it is too small to rank the demo chats
    # well; the real model's accuracy is in bench/demo_topics_bench.py): this test follows the
    # list through to the pick, whatever it holds.
    keys = [item["key"] for item in frame["items"]]
    active = await sync_to_async(
        lambda: set(ResponseTemplate.objects.filter(is_active=True).values_list("key", flat=True))
    )()
    assert set(keys) <= active, keys
    rank = 1
    chosen = frame["items"][rank - 1]
    assert "{" not in chosen["body"]  # placeholders rendered or visibly marked
    probabilities = [item["probability"] for item in frame["items"]]
    assert probabilities == sorted(probabilities, reverse=True)

    pick_id = str(uuid.uuid4())
    pick = {
        "type": "pick",
        "conversation": conversation.pk,
        "suggestion": frame["suggestion"],
        "template": chosen["key"],
        "rank": rank,
        "action": "inserted",
        "client_id": pick_id,
        "time_to_pick_ms": 1800,
    }
    ack = await send(communicator, **pick)
    assert (ack["type"], ack["client_id"], ack["kind"]) == ("ack", pick_id, "pick")
    # The same pick again (a resend after a lost ack) is acknowledged and stored once.
    again = await send(communicator, **pick)
    assert (again["type"], again["id"]) == ("ack", ack["id"])
    stored = await sync_to_async(
        lambda: list(Pick.objects.values_list("rank", "time_to_pick_ms"))
    )()
    assert stored == [(rank, 1800)]
    await communicator.disconnect()


async def test_reconnecting_panel_catches_up_through_state(
    agent_and_conversation, demo_catalog, ranker_dir
):
    agent, conversation = agent_and_conversation
    first, _, _ = await connect(agent)
    await first.receive_from()
    await send(first, type="subscribe", conversation=conversation.pk)
    await first.disconnect()

    # While no panel is connected, a message arrives through the REST API path's service.
    from assist.live.messages import message_ingest

    await sync_to_async(message_ingest)(
        conversation_id=conversation.pk,
        sender=agent,
        role="customer",
        text="my card never arrived",
        client_id="c-9",
    )
    second, _, _ = await connect(agent)
    await second.receive_from()
    state = await send(second, type="subscribe", conversation=conversation.pk)
    assert [m["text"] for m in state["messages"]] == ["my card never arrived"]
    assert state["suggestions"]["seq"] == 1
    assert state["suggestions"]["items"]
    await second.disconnect()


BAD_FRAMES = [
    ("{not json", "bad_json"),
    (json.dumps([1, 2]), "bad_json"),
    (json.dumps({"type": "teleport"}), "unknown_type"),
    (json.dumps({"type": "subscribe", "conversation": "seven"}), "invalid"),
    (json.dumps({"type": "subscribe", "conversation": 987654}), "not_found"),
    (
        json.dumps(
            {
                "type": "message",
                "conversation": "CONV",
                "role": "customer",
                "text": "x" * 20_000,
                "client_id": "big",
            }
        ),
        "too_large",
    ),
    ("x" * 100_000, "too_large"),
    (
        json.dumps(
            {
                "type": "message",
                "conversation": "CONV",
                "role": "bot",
                "text": "hi",
                "client_id": "r",
            }
        ),
        "invalid",
    ),
    (
        json.dumps(
            {
                "type": "pick",
                "conversation": "CONV",
                "suggestion": 424242,
                "template": "greeting.standard",
                "rank": 1,
                "action": "inserted",
                "client_id": "p",
            }
        ),
        "not_found",
    ),
    (
        json.dumps(
            {
                "type": "pick",
                "conversation": "CONV",
                "suggestion": None,
                "template": "no.such.template",
                "rank": None,
                "action": "inserted",
                "client_id": "p2",
            }
        ),
        "not_found",
    ),
    (
        json.dumps(
            {
                "type": "message",
                "conversation": "OTHER",
                "role": "customer",
                "text": "hi",
                "client_id": "o",
            }
        ),
        "forbidden",
    ),
]


@pytest.mark.parametrize(("raw", "code"), BAD_FRAMES)
async def test_bad_frames_get_an_error_and_change_nothing(
    agent_and_conversation, demo_catalog, raw, code
):
    agent, conversation = agent_and_conversation
    other = await sync_to_async(factories.ConversationFactory)()
    raw = raw.replace('"CONV"', str(conversation.pk)).replace('"OTHER"', str(other.pk))
    communicator, _, _ = await connect(agent)
    await communicator.receive_from()
    await communicator.send_to(text_data=raw)
    error = json.loads(await communicator.receive_from())
    assert (error["type"], error["code"]) == ("error", code)
    assert error["detail"]
    counts = await sync_to_async(
        lambda: (Message.objects.count(), Pick.objects.count(), Suggestion.objects.count())
    )()
    assert counts == (0, 0, 0)
    # The socket stays usable after a bad frame.
    assert await send(communicator, type="ping") == {"type": "pong"}
    await communicator.disconnect()


async def test_a_revoked_or_unknown_token_is_refused_at_the_handshake(agent_and_conversation):
    _, connected, code = await connect(token="not-a-real-token")
    assert not connected
    assert code == 4401


async def test_an_unlisted_origin_is_refused(agent_and_conversation):
    agent, _ = agent_and_conversation
    _, connected, _ = await connect(agent, origin=(b"origin", b"https://evil.example"))
    assert not connected


@override_settings(EXTENSION_ORIGINS=["chrome-extension://abcdefghijklmnop"])
async def test_auth_frame_for_browser_pages_without_headers(agent_and_conversation):
    agent, _ = agent_and_conversation
    raw = await sync_to_async(token_issue)(user=agent)
    communicator = WebsocketCommunicator(application, "/ws/assist/", headers=[ORIGIN])
    connected, _ = await communicator.connect()
    assert connected
    refused = await send(communicator, type="subscribe", conversation=1)
    assert refused["code"] == "unauthenticated"
    ready = await send(communicator, type="auth", token=raw)
    assert ready["type"] == "ready"
    await communicator.disconnect()


async def test_a_supervisor_may_watch_but_not_write(agent_and_conversation):
    _, conversation = agent_and_conversation
    supervisor = await sync_to_async(factories.supervisor)()
    communicator, connected, _ = await connect(supervisor)
    assert connected
    await communicator.receive_from()
    state = await send(communicator, type="subscribe", conversation=conversation.pk)
    assert state["type"] == "state"
    refused = await send(
        communicator,
        type="message",
        conversation=conversation.pk,
        role="agent",
        text="hi",
        client_id="s1",
    )
    assert refused["code"] == "forbidden"
    await communicator.disconnect()


@override_settings(WS_RATE_BURST=5, WS_RATE_PER_SECOND=0.1)
async def test_a_burst_beyond_the_limit_is_rate_limited(agent_and_conversation):
    agent, _ = agent_and_conversation
    communicator, _, _ = await connect(agent)
    await communicator.receive_from()
    answers = [(await send(communicator, type="ping"))["type"] for _ in range(8)]
    assert answers[:5] == ["pong"] * 5
    assert "error" in answers[5:]
    await communicator.disconnect()
