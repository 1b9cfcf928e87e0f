"""A "not this one" on one suggestion: stored like a pick (client id, idempotent, checked against
its list), never counted as a use of the list, shown in review and counted in the metrics."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from assist.lifecycle.training_data import conversations_write_jsonl
from assist.models import Conversation, Pick, Suggestion
from assist.review import metrics
from assist.tokens import token_issue
from config.asgi import application
from tests import factories
from tests.conftest import client_for


def token_client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")


@pytest.fixture
def shown(agent_user):
    a = factories.TemplateFactory(key="a", title="Template A")
    b = factories.TemplateFactory(key="b", title="Template B")
    message = factories.MessageFactory(conversation__assigned_agent=agent_user)
    return factories.SuggestionFactory(message=message, templates=[a, b], seq=1)


def _reject(client, shown_list, client_id="r-1", **fields):
    body = {
        "conversation": shown_list.conversation_id,
        "suggestion": shown_list.pk,
        "template": "b",
        "rank": 2,
        "action": "rejected",
        "client_id": client_id,
        "time_to_pick_ms": 900,
        **fields,
    }
    return client.post(reverse("api-picks"), body, "application/json")


def test_a_rejection_is_stored_once_and_never_uses_the_list(agent_user, shown):
    client = token_client(agent_user)
    first = _reject(client, shown)
    assert first.status_code == 201
    again = _reject(client, shown)
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    pick = Pick.objects.get()
    assert (pick.action, pick.template.key, pick.rank, pick.suggestion_id) == (
        "rejected",
        "b",
        2,
        shown.pk,
    )
    assert not Suggestion.objects.get().used
    # The same client id for something else is a conflict, not a silent drop.
    assert _reject(client, shown, rank=1, template="a").status_code == 409


@pytest.mark.parametrize(
    "fields",
    [{"rank": None}, {"suggestion": None, "rank": None}, {"template": "a"}, {"template": None}],
)
def test_a_rejection_names_its_list_rank_and_template(agent_user, shown, fields):
    response = _reject(token_client(agent_user), shown, **fields)
    assert response.status_code == 400
    assert Pick.objects.count() == 0


def test_rejections_are_counted_shown_in_review_and_kept_out_of_training(
    agent_user, supervisor_user, shown, tmp_path
):
    client = token_client(agent_user)
    _reject(client, shown)
    pick = {**_pick_a(shown), "client_id": "p-1"}
    assert client.post(reverse("api-picks"), pick, "application/json").status_code == 201
    reply = {
        "role": "agent",
        "text": "Hello there, this is a reply.",
        "client_id": "m-1",
        "pick": {"client_id": "p-1", "template": "a", "suggestion": shown.pk},
    }
    url = reverse("api-messages", args=[shown.conversation_id])
    assert client.post(url, reply, "application/json").status_code == 201

    overview = metrics.overview(metrics.Period())
    assert (overview["rejections"], overview["dismissals"], overview["from_list"]) == (1, 0, 1)
    (agent_row,) = metrics.per_agent(metrics.Period())
    assert agent_row["rejections"] == 1
    page = client_for(supervisor_user).get(reverse("review:dashboard"))
    assert page.status_code == 200 and "not this one" in page.content.decode()

    timeline = client_for(supervisor_user).get(
        reverse("review:conversation", args=[shown.conversation_id])
    )
    assert f"not this one, by {agent_user.username} after 900 ms" in timeline.content.decode()

    path = tmp_path / "conversations.jsonl"
    conversations_write_jsonl(Conversation.objects.all(), path)
    assert "b" not in {t.get("template") for t in json.loads(path.read_text())["turns"]}


def _pick_a(suggestion):
    return {
        "conversation": suggestion.conversation_id,
        "suggestion": suggestion.pk,
        "template": "a",
        "rank": 1,
        "action": "inserted",
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_on_the_socket_a_rejection_is_acknowledged_as_one():
    agent, suggestion = await sync_to_async(_socket_setup)()
    raw = await sync_to_async(token_issue)(user=agent)
    headers = [(b"origin", b"http://testserver"), (b"authorization", f"Token {raw}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/assist/", headers=headers)
    assert (await communicator.connect())[0]
    frame = {
        "type": "pick",
        "conversation": suggestion.conversation_id,
        "suggestion": suggestion.pk,
        "template": "b",
        "rank": 2,
        "action": "rejected",
        "client_id": "ws-r1",
    }
    await communicator.send_to(text_data=json.dumps(frame))
    for _ in range(5):
        answer = json.loads(await communicator.receive_from(timeout=10))
        if answer["type"] == "ack":
            break
    assert (answer["kind"], answer["client_id"]) == ("reject", "ws-r1")
    stored = await sync_to_async(Pick.objects.get)(client_id="ws-r1")
    assert stored.action == "rejected"
    await communicator.disconnect()


def _socket_setup():
    agent = factories.agent(username="rae")
    a, b = factories.TemplateFactory(key="a"), factories.TemplateFactory(key="b")
    message = factories.MessageFactory(conversation__assigned_agent=agent)
    return agent, factories.SuggestionFactory(message=message, templates=[a, b], seq=1)
