"""A helpdesk's service account (role integration, assist/access.py): opens conversations for a
named agent, posts messages, reads and transfers them over the REST API with its token, and
reaches nothing else (no socket, review, admin or picks)."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.test import Client

from assist.access import conversation_for_user
from assist.models import Conversation, Message, Pick
from assist.roles import INTEGRATION, user_roles
from assist.tokens import token_issue
from config.asgi import application
from tests import factories

pytestmark = pytest.mark.django_db


def service_account(username="helpdesk_bot"):
    return factories.UserFactory(username=username, role=INTEGRATION)


def api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")


def open_for(client, assignee, **extra):
    body = {"external_id": "hd-7", "customer_name": "Maria", **extra}
    if assignee is not None:
        body["assignee"] = assignee
    return client.post("/api/conversations", body, content_type="application/json")


def stored():
    return (
        list(Conversation.objects.values_list("external_id", "assigned_agent_id")),
        Message.objects.count(),
    )


def test_the_migration_made_the_role_and_the_command_issues_its_token(capsys):
    bot = service_account()
    assert user_roles(bot) == {INTEGRATION}
    call_command("agent_token", bot.username)
    raw = capsys.readouterr().out.strip()
    assert Client(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/conversations").status_code == 200


def test_opens_for_the_named_agent_who_gets_it_and_not_the_service_account(agent_user):
    bot = service_account()
    response = open_for(api(bot), agent_user.username)
    assert response.status_code == 201, response.content
    assert response.json()["assigned_agent"] == agent_user.username
    conversation = Conversation.objects.get()
    assert conversation.assigned_agent == agent_user
    # The agent works in it; opening it again returns it unchanged.
    assert conversation_for_user(agent_user, conversation.pk, write=True) == conversation
    again = open_for(api(bot), agent_user.username)
    assert (again.status_code, again.json()["id"]) == (200, conversation.pk)


def test_posts_customer_and_agent_messages_and_a_customer_message_queues_a_ranking(
    agent_user, django_capture_on_commit_callbacks
):
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    client = api(service_account())
    url = f"/api/conversations/{conversation.pk}/messages"
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            url,
            {"role": "customer", "text": "My card was stolen", "client_id": "hd-m1"},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    assert len(queued) == 1  # the ranking, as for any customer message
    reply = {"role": "agent", "text": "I blocked it.", "client_id": "hd-m2"}
    assert client.post(url, reply, content_type="application/json").status_code == 201
    assert list(Message.objects.order_by("pk").values_list("role", "client_id")) == [
        ("customer", "hd-m1"),
        ("agent", "hd-m2"),
    ]
    detail = client.get(f"/api/conversations/{conversation.pk}")
    assert [m["client_id"] for m in detail.json()["messages"]] == ["hd-m1", "hd-m2"]


def test_transfer_moves_write_access(agent_user):
    other = factories.agent(username="agent_bob")
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    response = api(service_account()).put(
        f"/api/conversations/{conversation.pk}/assignee",
        {"assignee": other.username},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["assigned_agent"] == other.username
    assert conversation_for_user(other, conversation.pk, write=True).pk == conversation.pk
    old = api(agent_user).post(
        f"/api/conversations/{conversation.pk}/messages",
        {"role": "agent", "text": "still mine?", "client_id": "a-1"},
        content_type="application/json",
    )
    assert old.status_code == 403


@pytest.mark.parametrize(
    ("assignee", "detail"),
    [
        (None, "assignee is required"),
        ("nobody_by_that_name", "no active agent"),
        ("super_sue", "no active agent"),  # a supervisor is no agent
        ("helpdesk_bot", "no active agent"),  # nor the service account itself
    ],
)
def test_a_bad_assignee_is_a_400_and_stores_nothing(supervisor_user, assignee, detail):
    bot = service_account()
    response = open_for(api(bot), assignee)
    assert response.status_code == 400
    assert detail in json.dumps(response.json())
    assert stored() == ([], 0)


def test_a_bad_transfer_changes_nothing(agent_user):
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    response = api(service_account()).put(
        f"/api/conversations/{conversation.pk}/assignee",
        {"assignee": "nobody_by_that_name"},
        content_type="application/json",
    )
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.assigned_agent == agent_user


def test_an_agent_cannot_open_for_someone_else(agent_user):
    other = factories.agent(username="agent_bob")
    refused = open_for(api(agent_user), other.username)
    assert refused.status_code == 403
    assert stored() == ([], 0)
    # Naming themselves is the same as naming no one.
    assert open_for(api(agent_user), agent_user.username).status_code == 201
    assert stored() == ([("hd-7", agent_user.pk)], 0)


def test_no_picks_review_or_admin(agent_user):
    bot = service_account()
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    template = factories.TemplateFactory()
    client = api(bot)
    pick = {
        "conversation": conversation.pk,
        "suggestion": None,
        "template": template.key,
        "rank": None,
        "action": "inserted",
        "client_id": "p-1",
    }
    assert client.post("/api/picks", pick, content_type="application/json").status_code == 403
    reply = {
        "role": "agent",
        "text": template.body,
        "client_id": "m-1",
        "pick": {"client_id": "p-1", "template": template.key, "suggestion": None},
    }
    url = f"/api/conversations/{conversation.pk}/messages"
    assert client.post(url, reply, content_type="application/json").status_code == 403
    assert (Pick.objects.count(), Message.objects.count()) == (0, 0)
    signed_in = Client()
    signed_in.force_login(bot)
    assert signed_in.get("/review/").status_code == 403
    assert signed_in.get("/admin/").status_code == 302  # to the admin's sign-in: not staff


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_the_socket_refuses_a_service_account():
    bot = await sync_to_async(service_account)()
    raw = await sync_to_async(token_issue)(user=bot)
    headers = [(b"origin", b"http://testserver"), (b"authorization", f"Token {raw}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/assist/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    refused = json.loads(await communicator.receive_from())
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    closed = await communicator.receive_output(timeout=5)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4403)
