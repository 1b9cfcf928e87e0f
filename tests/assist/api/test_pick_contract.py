"""Picks count only what the agent was shown, and client ids never cross agents: a pick is
checked against its list and its conversation, and a reused client id is either the same
pick or message again (acknowledged) or a 409 `conflict`, never a silent drop.
"""

import json

import pytest
from django.test import Client
from django.urls import reverse

from assist.models import Conversation, Message, Pick, Suggestion
from assist.tokens import token_issue
from tests import factories

pytestmark = pytest.mark.django_db


def token_client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")


@pytest.fixture
def shown(agent_user):
    """A conversation of agent_user's with one suggestion list of two templates."""
    a, b = factories.TemplateFactory(key="a"), factories.TemplateFactory(key="b")
    factories.TemplateFactory(key="elsewhere")
    message = factories.MessageFactory(conversation__assigned_agent=agent_user)
    suggestion = factories.SuggestionFactory(message=message, templates=[a, b], seq=1)
    return suggestion


def _newer_list(suggestion):
    """A newer customer message and its list."""
    message = factories.MessageFactory(conversation=suggestion.conversation)
    factories.SuggestionFactory(message=message, templates=[], seq=suggestion.seq + 1)


def _pick(suggestion, **fields):
    return {
        "conversation": suggestion.conversation_id,
        "suggestion": suggestion.pk,
        "template": "a",
        "rank": 1,
        "action": "inserted",
        "client_id": "p-1",
        **fields,
    }


def _post(client, body):
    return client.post(reverse("api-picks"), body, "application/json")


def test_a_pick_of_a_template_not_on_its_list_is_refused(agent_user, shown):
    response = _post(token_client(agent_user), _pick(shown, template="elsewhere", rank=None))
    assert response.status_code == 400
    assert Pick.objects.count() == 0
    assert not Suggestion.objects.get().used


def test_a_pick_on_an_out_of_date_list_is_refused(agent_user, shown):
    _newer_list(shown)
    response = _post(token_client(agent_user), _pick(shown))
    assert (response.status_code, response.json()["code"]) == (409, "stale")
    assert Pick.objects.count() == 0


def test_a_pick_in_a_closed_conversation_is_refused(agent_user, shown):
    Conversation.objects.update(status=Conversation.Status.CLOSED)
    response = _post(token_client(agent_user), _pick(shown))
    assert response.status_code == 400
    assert Pick.objects.count() == 0


def test_a_retried_pick_is_acknowledged_even_after_the_list_moved_on(agent_user, shown):
    client = token_client(agent_user)
    assert _post(client, _pick(shown)).status_code == 201
    _newer_list(shown)
    again = _post(client, _pick(shown))
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert Pick.objects.count() == 1


def test_time_to_pick_true_is_not_a_duration(agent_user, shown):
    response = _post(token_client(agent_user), _pick(shown, time_to_pick_ms=True))
    assert response.status_code == 400
    assert Pick.objects.count() == 0


def test_pick_client_ids_belong_to_their_agent(agent_user, other_agent, shown):
    assert _post(token_client(agent_user), _pick(shown)).status_code == 201
    # Another agent, in their own conversation, happens to make the same client id.
    b = factories.TemplateFactory(key="b2")
    theirs = factories.SuggestionFactory(
        message=factories.MessageFactory(conversation__assigned_agent=other_agent),
        templates=[b],
        seq=1,
    )
    response = _post(token_client(other_agent), _pick(theirs, template="b2"))
    assert (response.status_code, response.json()["created"]) == (201, True)
    assert response.json()["id"] != Pick.objects.get(agent=agent_user).pk
    assert Pick.objects.filter(agent=other_agent, client_id="p-1").count() == 1


def test_a_pick_client_id_reused_for_another_pick_is_a_conflict(agent_user, shown):
    client = token_client(agent_user)
    assert _post(client, _pick(shown)).status_code == 201
    response = _post(client, _pick(shown, template="b", rank=2))
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    assert list(Pick.objects.values_list("template__key", flat=True)) == ["a"]


def test_a_message_client_id_reused_with_other_text_is_a_conflict(agent_user):
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    client = token_client(agent_user)
    url = reverse("api-messages", args=[conversation.pk])
    body = {"role": "customer", "text": "first", "client_id": "m-1"}
    assert client.post(url, body, "application/json").status_code == 201
    assert client.post(url, body, "application/json").status_code == 200  # a retry
    response = client.post(url, {**body, "text": "second"}, "application/json")
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    assert list(Message.objects.values_list("text", flat=True)) == ["first"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_on_the_socket_bool_durations_are_invalid_and_reuse_is_a_conflict():
    # The socket reads raw JSON (no serializer), where True is an int to Python.
    from asgiref.sync import sync_to_async

    from tests.security.test_malformed_input import _agent_socket, _reply

    agent = await sync_to_async(factories.agent)(username="sock")
    suggestion = await sync_to_async(_suggestion_for)(agent)
    communicator = await _agent_socket(agent)
    frame = {"type": "pick", **_pick(suggestion)}
    refused = await _reply(communicator, json.dumps({**frame, "time_to_pick_ms": True}))
    assert (refused["type"], refused["code"]) == ("error", "invalid")
    # Stored directly: no worker is alive in this test (degraded mode).
    assert (await _reply(communicator, json.dumps(frame)))["type"] == "ack"
    conflict = await _reply(communicator, json.dumps({**frame, "template": "b", "rank": 2}))
    assert (conflict["type"], conflict["code"], conflict["client_id"]) == (
        "error",
        "conflict",
        "p-1",
    )
    await communicator.disconnect()
    assert await sync_to_async(Pick.objects.count)() == 1


def _suggestion_for(agent):
    a, b = factories.TemplateFactory(key="a"), factories.TemplateFactory(key="b")
    message = factories.MessageFactory(conversation__assigned_agent=agent)
    return factories.SuggestionFactory(message=message, templates=[a, b], seq=1)
