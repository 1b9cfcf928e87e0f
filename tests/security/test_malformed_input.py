"""Malformed input, over the socket and over REST: an error that names it, nothing stored, and
the socket kept open. NUL and lone surrogates (PostgreSQL cannot store them), numbers past
Python's digit limit or a bigint, nesting past the interpreter's stack, fields of the wrong
shape, and bodies over the size limit.
"""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assist.models import Message, Pick
from assist.tokens import token_issue
from config.asgi import application
from tests import factories

SITE = b"http://testserver"
DEEP = "[" * 30_000 + "]" * 30_000
HUGE = "1" * 5_000


def _frames(conversation_id: int) -> list[str]:
    """Frames the probe sent, each of which once cost the client its socket."""
    base = {"conversation": conversation_id, "role": "customer", "client_id": "m-1"}
    return [
        json.dumps({"type": "message", **base, "text": "a\x00b"}),
        json.dumps({"type": "message", **base, "text": "a\ud800b"}),
        json.dumps({"type": "message", **base, "text": "ok", "client_id": "c\x00"}),
        json.dumps({"type": "message", **base, "text": "ok", "client_id": "c\udfff"}),
        json.dumps({"type": "search", "query": "card\x00"}),
        json.dumps({"type": "search", "query": "\ud83d"}),
        f'{{"type": "subscribe", "conversation": {HUGE}}}',
        json.dumps({"type": "subscribe", "conversation": 10**30}),
        json.dumps({"type": "message", **base, "text": "ok", "conversation": 2**63}),
        f'{{"type": "message", "text": {DEEP}}}',
        DEEP,
        json.dumps({"type": "unsubscribe", "conversation": [conversation_id]}),
        json.dumps({"type": "unsubscribe", "conversation": {"a": 1}}),
        json.dumps({"type": "search", "query": "x", "request_id": NAN_PLACEHOLDER}).replace(
            f'"{NAN_PLACEHOLDER}"', "NaN"
        ),
        json.dumps(
            {
                "type": "pick",
                "conversation": conversation_id,
                "suggestion": 2**64,
                "template": "t",
                "rank": None,
                "action": "inserted",
                "client_id": "p-1",
            }
        ),
    ]


NAN_PLACEHOLDER = "__nan__"


async def _agent_socket(agent) -> WebsocketCommunicator:
    raw = await sync_to_async(token_issue)(user=agent)
    communicator = WebsocketCommunicator(
        application,
        "/ws/assist/",
        headers=[(b"origin", SITE), (b"authorization", f"Token {raw}".encode())],
    )
    connected, _ = await communicator.connect()
    assert connected
    assert json.loads(await communicator.receive_from(timeout=10))["type"] == "ready"
    return communicator


async def _reply(communicator: WebsocketCommunicator, text: str) -> dict:
    await communicator.send_to(text_data=text)
    # Generous: a timeout cancels the application, and this machine is shared.
    return json.loads(await communicator.receive_from(timeout=30))


async def _still_open(communicator: WebsocketCommunicator) -> None:
    assert (await _reply(communicator, '{"type": "ping"}'))["type"] == "pong"


def _rows() -> tuple[int, int]:
    return Message.objects.count(), Pick.objects.count()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
@override_settings(WS_RATE_BURST=1000)
async def test_malformed_frames_get_an_error_and_keep_the_socket(caplog):
    agent = await sync_to_async(factories.agent)(username="ann")
    conversation = await sync_to_async(factories.ConversationFactory)(assigned_agent=agent)
    communicator = await _agent_socket(agent)
    for text in _frames(conversation.pk):
        answer = await _reply(communicator, text)
        assert answer["type"] == "error", text[:80]
        assert answer["code"] in ("invalid", "bad_json"), (text[:80], answer)
        await _still_open(communicator)
    assert await sync_to_async(_rows)() == (0, 0)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    await communicator.disconnect()


# --- fuzz: any frame shape, never a traceback, never a write ------------------------------------

_text = st.text(st.characters(exclude_categories=()), max_size=20)
_scalars = st.none() | st.booleans() | st.integers() | st.floats() | _text
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_fields = st.sampled_from(
    ["type", "conversation", "role", "text", "client_id", "template", "suggestion", "rank",
     "action", "time_to_pick_ms", "query", "request_id", "token"]
)  # fmt: skip
_types = st.sampled_from(
    ["message", "pick", "dismiss", "search", "subscribe", "unsubscribe", "auth", "ping"]
)
_frame_texts = (
    st.builds(
        lambda kind, fields: json.dumps({**fields, "type": kind}),
        _types,
        st.dictionaries(_fields, _values, max_size=6),
    )
    | st.builds(json.dumps, _values)
    | _text.filter(bool)
    | st.sampled_from([DEEP, HUGE, "{", '{"type": "message", "text": 1e999}', "NaN"])
)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(WS_RATE_BURST=100_000)
def test_fuzzed_frames_never_crash_the_socket_or_write(caplog):
    # The agent has no conversation of their own, so no frame may store anything; one belongs
    # to someone else (forbidden), and ids are small integers that hypothesis favours.
    agent = factories.agent(username="fuzz")
    factories.ConversationFactory()
    factories.TemplateFactory(key="t1")
    loop = asyncio.new_event_loop()
    communicator = loop.run_until_complete(_agent_socket(agent))

    @settings(
        max_examples=150,
        deadline=None,
        database=None,  # no .hypothesis folder in the tree; every run draws afresh
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(_frame_texts)
    def one_frame(text: str) -> None:
        answer = loop.run_until_complete(_reply(communicator, text))
        assert answer["type"] in ("error", "pong", "search_results", "state", "ready"), answer
        if answer["type"] == "error":
            assert answer["code"] not in ("unavailable",), answer

    try:
        one_frame()
        loop.run_until_complete(_still_open(communicator))
    finally:
        loop.run_until_complete(communicator.disconnect())
        loop.close()
    assert _rows() == (0, 0)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


# --- REST ---------------------------------------------------------------------------------


@pytest.fixture
def api(db):
    agent = factories.agent(username="rest")
    conversation = factories.ConversationFactory(assigned_agent=agent)
    return Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=agent)}"), conversation


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["q=%00", "q=%ED%A0%80x%00", "category=%00"],
)
def test_bad_search_parameters_answer_400(api, query):
    client, _ = api
    response = client.get(f"{reverse('api-templates')}?{query}")
    assert response.status_code == 400, response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["status=%00", "status=AAA", "limit=212136977154311585792", "offset=212136977154311585792",
     "offset=null", "limit=0", "limit=-1", "limit=100000"],
)  # fmt: skip
def test_bad_list_parameters_answer_400(api, query):
    client, _ = api
    response = client.get(f"{reverse('api-conversations')}?{query}")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_an_id_past_the_bigint_range_is_not_found(api):
    client, _ = api
    response = client.get(f"/api/conversations/{2**64}")
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        '{"role": "customer", "text": "a\\u0000b", "client_id": "m-1"}',
        '{"role": "customer", "text": "a\\ud800b", "client_id": "m-1"}',
        '{"role": "customer", "text": "ok", "client_id": "m\\u0000"}',
        f'{{"role": "customer", "text": "ok", "client_id": "m-1", "x": {HUGE}}}',
        f'{{"role": "customer", "text": {DEEP}, "client_id": "m-1"}}',
        '{"role": "customer", "text": NaN, "client_id": "m-1"}',
    ],
)
def test_malformed_json_bodies_answer_400_and_store_nothing(api, body):
    client, conversation = api
    response = client.post(
        reverse("api-messages", args=[conversation.pk]), body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_a_pick_body_with_a_huge_id_answers_400(api):
    client, conversation = api
    body = {"conversation": conversation.pk, "suggestion": 2**64, "template": "t", "rank": None,
            "action": "inserted", "client_id": "p-1"}  # fmt: skip
    response = client.post(reverse("api-picks"), body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert Pick.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_10_mb_body_answers_413_json(api, content_type):
    client, conversation = api
    text = "x" * (10 * 1024 * 1024)
    body = (
        json.dumps({"role": "customer", "text": text, "client_id": "m-1"})
        if content_type == "application/json"
        else f"role=customer&client_id=m-1&text={text}"
    )
    response = client.post(
        reverse("api-messages", args=[conversation.pk]), body, content_type=content_type
    )
    assert response.status_code == 413, response.content[:200]
    assert response.json()["code"] == "too_large"
    assert Message.objects.count() == 0
