"""Closing (resolving) a chat: the service's rules, the WebSocket `close` frame, the demo
helpdesk's button and review's status filter."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied
from django.http import Http404

from assist.live.conversations import conversation_close
from assist.models import Conversation
from tests import factories
from tests.assist.live.test_consumers import connect, receive_type, send
from tests.conftest import client_for


@pytest.fixture
def chat(agent_user):
    return factories.ConversationFactory(assigned_agent=agent_user, customer_name="Jo Park")


@pytest.mark.django_db
def test_closing_is_idempotent_and_stamps_the_end(agent_user, chat):
    closed, changed = conversation_close(user=agent_user, conversation_id=chat.pk)
    assert changed and closed.status == Conversation.Status.CLOSED
    assert closed.ended_at is not None and closed.ended_at >= chat.started_at
    again, changed = conversation_close(user=agent_user, conversation_id=chat.pk)
    assert not changed and again.ended_at == closed.ended_at


@pytest.mark.django_db
def test_only_the_chats_agent_closes_it(chat, other_agent, supervisor_user, catalog_admin_user):
    for user in (other_agent, supervisor_user, catalog_admin_user):
        with pytest.raises(PermissionDenied):
            conversation_close(user=user, conversation_id=chat.pk)
    with pytest.raises(PermissionDenied, match="needs the role agent"):
        conversation_close(user=supervisor_user, conversation_id=chat.pk)
    with pytest.raises(Http404):
        conversation_close(user=chat.assigned_agent, conversation_id=999_999)
    chat.refresh_from_db()
    assert chat.status == Conversation.Status.OPEN


@pytest.mark.django_db
def test_the_demo_helpdesk_closes_the_chat_and_drops_it_from_the_inbox(agent_user, chat, settings):
    settings.DEMO_HELPDESK = True
    chat.channel = "demo"
    chat.save(update_fields=["channel"])
    client = client_for(agent_user)
    assert f'action="/demo/helpdesk/conversations/{chat.pk}/close"' in (
        client.get(f"/demo/helpdesk/?c={chat.pk}").content.decode()
    )
    response = client.post(f"/demo/helpdesk/conversations/{chat.pk}/close")
    assert (response.status_code, response["Location"]) == (302, "/demo/helpdesk/")
    chat.refresh_from_db()
    assert chat.status == Conversation.Status.CLOSED
    assert "Jo Park" not in client.get("/demo/helpdesk/").content.decode()
    assert client.get(f"/demo/helpdesk/conversations/{chat.pk}/close").status_code == 405


@pytest.mark.django_db
def test_review_filters_by_status(supervisor_user, agent_user):
    open_chat = factories.ConversationFactory(assigned_agent=agent_user, external_id="still-open")
    done = factories.ConversationFactory(assigned_agent=agent_user, external_id="resolved")
    conversation_close(user=agent_user, conversation_id=done.pk)
    client = client_for(supervisor_user)
    closed_page = client.get("/review/?status=closed").content.decode()
    assert "resolved" in closed_page and open_chat.external_id not in closed_page
    open_page = client.get("/review/?status=open").content.decode()
    assert "still-open" in open_page and "resolved" not in open_page
    assert client.get("/review/?status=deleted").status_code == 200  # an invalid filter is shown


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_close_frame_acks_tells_every_watching_panel_and_refuses_the_wrong_roles():
    agent = await sync_to_async(factories.agent)(username="ann")
    supervisor = await sync_to_async(factories.supervisor)(username="sue")
    chat = await sync_to_async(factories.ConversationFactory)(assigned_agent=agent)
    panel, _, _ = await connect(agent)
    ready = json.loads(await panel.receive_from())
    assert ready["read_only"] is False
    watcher, _, _ = await connect(supervisor)
    assert json.loads(await watcher.receive_from())["read_only"] is True
    for communicator in (panel, watcher):
        assert (await send(communicator, type="subscribe", conversation=chat.pk))["type"] == "state"

    refused = await send(watcher, type="close", conversation=chat.pk, client_id="s-1")
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    assert "needs the role agent" in refused["detail"]
    assert (await send(panel, type="close", conversation=chat.pk))["code"] == "invalid"

    await panel.send_to(
        text_data=json.dumps({"type": "close", "conversation": chat.pk, "client_id": "c-1"})
    )
    frames = [json.loads(await panel.receive_from(timeout=10)) for _ in range(2)]
    assert {"type": "ack", "client_id": "c-1", "id": chat.pk, "kind": "close"} in frames
    assert {"type": "closed", "conversation": chat.pk} in frames
    assert await receive_type(watcher, "closed") == {"type": "closed", "conversation": chat.pk}
    # Sent again after a reconnect: acknowledged again, announced no more.
    again = await send(panel, type="close", conversation=chat.pk, client_id="c-1")
    assert again == {"type": "ack", "client_id": "c-1", "id": chat.pk, "kind": "close"}
    assert await panel.receive_nothing(timeout=0.3)
    status = await sync_to_async(lambda: Conversation.objects.get(pk=chat.pk).status)()
    assert status == "closed"
    await panel.disconnect()
    await watcher.disconnect()
