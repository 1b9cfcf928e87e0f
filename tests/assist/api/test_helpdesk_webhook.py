"""The helpdesk webhook (assist/api/integrations.py): signed events open conversations, store
messages, assign, transfer and close, each once, through the same services as the REST API."""

import json
import time

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from assist.access import conversation_for_user
from assist.api.integrations import sign
from assist.models import Conversation, HelpdeskEvent, Message
from assist.tokens import token_issue
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

SECRET = "test-helpdesk-secret"
URL = "/api/integrations/helpdesk/events"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.HELPDESK_WEBHOOK_SECRET = SECRET


def post(body, *, secret=SECRET, timestamp=None, signature=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"HTTP_X_ASSIST_TIMESTAMP": timestamp}
    headers["HTTP_X_ASSIST_SIGNATURE"] = (
        sign(secret, timestamp, raw) if signature is None else signature
    )
    return Client().post(URL, raw, content_type="application/json", **headers)


def opened(event_id="ev-1", external_id="hd-100", **extra):
    return {
        "id": event_id,
        "type": "conversation.opened",
        "conversation": {"external_id": external_id, "customer_name": "Maria Lopez"},
        **extra,
    }


def message(event_id, text, *, message_id="msg-1", role="customer", external_id="hd-100"):
    return {
        "id": event_id,
        "type": "message.created",
        "conversation": {"external_id": external_id},
        "message": {"id": message_id, "role": role, "text": text},
    }


def stored():
    return (
        Conversation.objects.count(),
        Message.objects.count(),
        HelpdeskEvent.objects.count(),
        list(Conversation.objects.values_list("assigned_agent_id", "status")),
    )


def test_the_route_is_the_documented_one():
    assert reverse("api-helpdesk-events") == URL


def test_without_a_secret_the_endpoint_does_not_exist(settings):
    settings.HELPDESK_WEBHOOK_SECRET = ""
    assert post(opened()).status_code == 404
    assert Conversation.objects.count() == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "another-secret"},
        {"signature": ""},
        {"signature": "sha256=" + "0" * 64},
        {"timestamp": int(time.time()) - 3600},  # signed an hour ago: a replay
        {"timestamp": "soon"},
    ],
    ids=["wrong-secret", "missing", "forged", "stale", "not-a-time"],
)
def test_an_unsigned_or_stale_event_is_refused_and_stores_nothing(kwargs):
    response = post(opened(), **kwargs)
    assert response.status_code == 401
    assert response.json()["detail"]
    assert stored() == (0, 0, 0, [])


def test_a_changed_body_breaks_the_signature():
    timestamp = str(int(time.time()))
    signature = sign(SECRET, timestamp, json.dumps(opened()).encode())
    response = post(opened(external_id="hd-other"), timestamp=timestamp, signature=signature)
    assert response.status_code == 401
    assert Conversation.objects.count() == 0


def test_opened_then_a_customer_message_stores_both_and_queues_a_ranking(
    agent_user, django_capture_on_commit_callbacks
):
    response = post(opened(assignee=agent_user.username))
    assert response.status_code == 200
    conversation = Conversation.objects.get()
    assert response.json() == {"event": "ev-1", "duplicate": False, "conversation": conversation.pk}
    assert (conversation.external_id, conversation.customer_name) == ("hd-100", "Maria Lopez")
    assert conversation.assigned_agent == agent_user

    with django_capture_on_commit_callbacks() as queued:
        response = post(message("ev-2", "I lost my card, please block it"))
    assert response.status_code == 200
    stored_message = Message.objects.get()
    assert (stored_message.conversation_id, stored_message.role) == (conversation.pk, "customer")
    assert stored_message.client_id == "msg-1"
    assert len(queued) == 1  # the ranking, queued on commit, as for a message from the API


def test_a_redelivered_event_stores_nothing_twice(agent_user, django_capture_on_commit_callbacks):
    post(opened(assignee=agent_user.username))
    first = post(message("ev-2", "where is my card"))
    with django_capture_on_commit_callbacks() as queued:
        again = post(message("ev-2", "where is my card"))
    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert queued == []  # no second ranking
    assert (Message.objects.count(), HelpdeskEvent.objects.count()) == (1, 2)


def test_the_same_message_in_another_event_is_stored_once(agent_user):
    post(opened(assignee=agent_user.username))
    post(message("ev-2", "hello"))
    assert post(message("ev-3", "hello")).status_code == 200
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        {"type": "conversation.opened", "conversation": {"external_id": "hd-100"}},
        {"id": "ev-9", "type": "conversation.deleted", "conversation": {"external_id": "hd-100"}},
        {"id": "ev-9", "type": "conversation.opened", "conversation": "hd-100"},
        {"id": "ev-9", "type": "conversation.opened", "conversation": {"external_id": ""}},
        {
            "id": "ev-9",
            "type": "conversation.opened",
            "conversation": {"external_id": "hd-100"},
            "assignee": "nobody",
        },
        {"id": "ev-9", "type": "conversation.assigned", "conversation": {"external_id": "hd-100"}},
        {"id": "ev-9", "type": "message.created", "conversation": {"external_id": "hd-100"}},
        message("ev-9", "", message_id="m-9"),
        message("ev-9", "hi", role="bot"),
        message("ev-9", "hi", message_id=""),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "no-id",
        "unknown-type",
        "conversation-not-object",
        "empty-external-id",
        "unknown-assignee",
        "assigned-without-assignee",
        "no-message",
        "empty-text",
        "unknown-role",
        "no-message-id",
    ],
)
def test_a_malformed_event_is_refused_with_a_reason_and_changes_nothing(agent_user, body):
    post(opened(assignee=agent_user.username))
    before = stored()
    response = post(body)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert stored() == before


def test_a_supervisor_cannot_be_the_assignee(agent_user, supervisor_user):
    response = post(opened(assignee=supervisor_user.username))
    assert response.status_code == 400
    assert Conversation.objects.count() == 0


def test_a_transfer_moves_write_access_and_tells_the_panels(
    agent_user, other_agent, django_capture_on_commit_callbacks
):
    post(opened(assignee=agent_user.username))
    conversation = Conversation.objects.get()
    assert conversation_for_user(agent_user, conversation.pk, write=True)

    transfer = {
        "id": "ev-2",
        "type": "conversation.assigned",
        "conversation": {"external_id": "hd-100"},
        "assignee": other_agent.username,
    }
    with django_capture_on_commit_callbacks() as announced:
        assert post(transfer).status_code == 200
    assert len(announced) == 1  # `assist.access` to the conversation's panels
    assert conversation_for_user(other_agent, conversation.pk, write=True)
    with pytest.raises(PermissionDenied):
        conversation_for_user(agent_user, conversation.pk)

    # Through the REST API: the new agent writes, the old one is refused.
    url = reverse("api-messages", args=[conversation.pk])
    body = {"role": "agent", "text": "I can help", "client_id": "r-1"}
    for agent, status in [(agent_user, 403), (other_agent, 201)]:
        client = Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=agent)}")
        assert client.post(url, body, "application/json").status_code == status


def test_the_extensions_first_reader_does_not_take_over_a_helpdesk_conversation(
    agent_user, other_agent
):
    """Opening by external id from the extension returns the conversation to its assignee only;
    anyone else (and everyone, while the helpdesk has assigned nobody) is refused."""
    post(opened())  # no assignee yet
    client = Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=agent_user)}")
    open_it = {"external_id": "hd-100"}
    url = reverse("api-conversations")
    refused = client.post(url, open_it, "application/json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "The helpdesk has not assigned this conversation to anyone."
    assert Conversation.objects.get().assigned_agent is None

    post({**opened("ev-2"), "type": "conversation.assigned", "assignee": other_agent.username})
    assert client.post(url, open_it, "application/json").status_code == 403
    other = Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=other_agent)}")
    assert other.post(url, open_it, "application/json").status_code == 200
    assert Conversation.objects.get().assigned_agent == other_agent


def test_closed_closes_once_and_later_messages_are_refused(agent_user):
    post(opened(assignee=agent_user.username))
    closed = {
        "id": "ev-2",
        "type": "conversation.closed",
        "conversation": {"external_id": "hd-100"},
    }
    assert post(closed).status_code == 200
    assert Conversation.objects.get().status == Conversation.Status.CLOSED
    late = post(message("ev-3", "are you there?"))
    assert (late.status_code, late.json()["detail"]) == (400, "the conversation is closed")
    assert (Message.objects.count(), HelpdeskEvent.objects.count()) == (0, 2)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_a_transfer_drops_the_conversation_from_the_old_agents_open_panel():
    from asgiref.sync import sync_to_async

    from tests.assist.live.test_consumers import connect, receive_type, send

    ann = await sync_to_async(factories.agent)(username="ann")
    otto = await sync_to_async(factories.agent)(username="otto")
    await sync_to_async(post)(opened(assignee="ann"))
    conversation = await sync_to_async(Conversation.objects.get)()
    panel, _, _ = await connect(ann)
    await panel.receive_from()  # ready
    assert (await send(panel, type="subscribe", conversation=conversation.pk))["type"] == "state"

    transfer = {**opened("ev-2"), "type": "conversation.assigned", "assignee": otto.username}
    assert (await sync_to_async(post)(transfer)).status_code == 200
    frame = await receive_type(panel, "error")
    assert (frame["code"], frame["conversation"]) == ("forbidden", conversation.pk)
    await panel.disconnect()


def test_a_supervisor_transfers_through_the_rest_api(agent_user, other_agent, supervisor_user):
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    url = reverse("api-conversation-assignee", args=[conversation.pk])
    supervisor = client_for(supervisor_user)
    agent = Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=agent_user)}")

    refused = agent.put(url, {"assignee": other_agent.username}, "application/json")
    assert refused.status_code == 403  # agents do not hand chats around
    for body in ({"assignee": "nobody"}, {"assignee": supervisor_user.username}, {}):
        assert supervisor.put(url, body, "application/json").status_code == 400
    conversation.refresh_from_db()
    assert conversation.assigned_agent == agent_user

    moved = supervisor.put(url, {"assignee": other_agent.username}, "application/json")
    assert (moved.status_code, moved.json()["assigned_agent"]) == (200, other_agent.username)
    assert conversation_for_user(other_agent, conversation.pk, write=True)
    with pytest.raises(PermissionDenied):
        conversation_for_user(agent_user, conversation.pk)
    unassigned = supervisor.put(url, {"assignee": None}, "application/json")
    assert (unassigned.status_code, unassigned.json()["assigned_agent"]) == (200, None)
    assert supervisor.put(reverse("api-conversation-assignee", args=[999_999]), {"assignee": None},
                          "application/json").status_code == 404  # fmt: skip
