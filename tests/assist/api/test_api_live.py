"""The REST side of the live loop, as the extension's content script and integrations use it."""

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from assist.models import AgentToken, Conversation, Message, Pick, Suggestion
from assist.tokens import token_issue
from tests import factories
from tests.conftest import client_for
from tests.tiny_models import DEMO_CATALOG

pytestmark = pytest.mark.django_db


def token_client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")


def test_open_conversation_is_idempotent_by_external_id(agent_user):
    client = token_client(agent_user)
    url = reverse("api-conversations")
    first = client.post(url, {"external_id": "tkt-1", "customer_name": "Jo"}, "application/json")
    again = client.post(url, {"external_id": "tkt-1"}, "application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["assigned_agent"] == agent_user.username
    assert Conversation.objects.count() == 1


def test_opening_another_agents_conversation_is_forbidden(agent_user, other_agent):
    factories.ConversationFactory(external_id="tkt-2", channel="chat", assigned_agent=other_agent)
    response = token_client(agent_user).post(
        reverse("api-conversations"), {"external_id": "tkt-2"}, "application/json"
    )
    assert response.status_code == 403


def test_messages_are_stored_once_per_client_id(agent_user):
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    client = token_client(agent_user)
    url = reverse("api-messages", args=[conversation.pk])
    body = {"role": "agent", "text": "Hello!", "client_id": "m-1"}
    assert client.post(url, body, "application/json").status_code == 201
    again = client.post(url, body, "application/json")
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"role": "bot", "text": "hi", "client_id": "x"}, 400),
        ({"role": "agent", "text": "", "client_id": "x"}, 400),
        ({"role": "agent", "text": "a" * 10_001, "client_id": "x"}, 413),
        ({"role": "agent", "text": "hi", "client_id": "x", "template": "nope"}, 404),
        ({"role": "customer", "text": "hi"}, 400),
    ],
)
def test_bad_messages_are_refused_and_change_nothing(agent_user, body, status):
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    response = token_client(agent_user).post(
        reverse("api-messages", args=[conversation.pk]), body, "application/json"
    )
    assert response.status_code == status
    assert not Message.objects.exists()


def superuser():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.com", "pw")


# The write rule (assist/access.py) as the message INSERT applies it: who sends, into whose
# conversation, in which state.
@pytest.mark.parametrize(
    ("sender", "assignee", "status", "expected"),
    [
        ("agent", "agent", "open", 201),
        ("agent", "other", "open", 403),
        ("agent", "nobody", "open", 403),
        ("agent", "agent", "closed", 400),
        ("agent", "unknown", "open", 404),
        ("supervisor", "agent", "open", 403),
        ("superuser", "agent", "open", 201),
        ("superuser", "agent", "closed", 400),
    ],
)
def test_who_may_write_a_message(sender, assignee, status, expected, agent_user, other_agent):
    users = {
        "agent": agent_user,
        "other": other_agent,
        "nobody": None,
        "supervisor": factories.supervisor(),
        "superuser": superuser(),
    }
    conversation = factories.ConversationFactory(assigned_agent=users.get(assignee), status=status)
    conversation_id = 999_999 if assignee == "unknown" else conversation.pk
    response = token_client(users[sender]).post(
        reverse("api-messages", args=[conversation_id]),
        {"role": "customer", "text": "hi", "client_id": "z"},
        "application/json",
    )
    assert response.status_code == expected, response.content
    stored = list(Message.objects.values_list("conversation_id", "text"))
    assert stored == ([(conversation.pk, "hi")] if expected == 201 else [])
    if expected == 400:
        assert response.json()["detail"] == "the conversation is closed"


def test_customer_message_gets_suggestions_and_a_pick_is_stored_once(
    agent_user, demo_ranker_dir, settings, django_capture_on_commit_callbacks
):
    settings.RANKER_DIR = demo_ranker_dir
    call_command("import_catalog", DEMO_CATALOG, stdout=io.StringIO())
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    client = token_client(agent_user)
    latest = reverse("api-latest-suggestion", args=[conversation.pk])
    assert client.get(latest).status_code == 204

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("api-messages", args=[conversation.pk]),
            {"role": "customer", "text": "I lost my card, please block it", "client_id": "m"},
            "application/json",
        )
    suggestion = client.get(latest).json()
    assert suggestion["seq"] == 1
    assert Suggestion.objects.count() == 1
    top = suggestion["items"][0]

    pick = {
        "conversation": conversation.pk,
        "suggestion": suggestion["suggestion"],
        "template": top["key"],
        "rank": 1,
        "action": "inserted",
        "client_id": "p-1",
        "time_to_pick_ms": 950,
    }
    assert client.post(reverse("api-picks"), pick, "application/json").status_code == 201
    assert client.post(reverse("api-picks"), pick, "application/json").status_code == 200
    assert Pick.objects.count() == 1
    wrong_rank = {**pick, "client_id": "p-2", "rank": 2}
    assert client.post(reverse("api-picks"), wrong_rank, "application/json").status_code == 400
    assert Pick.objects.count() == 1


def test_token_lifecycle(agent_user):
    session = client_for(agent_user)
    raw = session.post(reverse("api-tokens")).json()["token"]
    stored = AgentToken.objects.get()
    assert raw not in (stored.digest, stored.prefix)  # only a digest is stored

    by_token = Client(HTTP_AUTHORIZATION=f"Token {raw}")
    assert by_token.get(reverse("api-conversations")).status_code == 200
    assert by_token.delete(reverse("api-token-current")).status_code == 204
    assert by_token.get(reverse("api-conversations")).status_code == 401


def test_only_agents_get_tokens(supervisor_user):
    assert client_for(supervisor_user).post(reverse("api-tokens")).status_code == 403


def test_session_posts_need_csrf_but_token_posts_do_not(agent_user):
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    url = reverse("api-messages", args=[conversation.pk])
    body = {"role": "agent", "text": "hi", "client_id": "c"}
    session = Client(enforce_csrf_checks=True)
    session.force_login(agent_user)
    assert session.post(url, body, "application/json").status_code == 403
    token = Client(
        enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {token_issue(user=agent_user)}"
    )
    assert token.post(url, body, "application/json").status_code == 201


def test_agent_token_command_prints_a_working_token(agent_user):
    out = io.StringIO()
    call_command("agent_token", agent_user.username, stdout=out)
    raw = out.getvalue().strip()
    assert (
        Client(HTTP_AUTHORIZATION=f"Token {raw}").get(reverse("api-conversations")).status_code
        == 200
    )


def test_ranking_a_message_stays_within_its_query_budget(
    agent_user, demo_ranker_dir, settings, django_assert_max_num_queries
):
    """The worker's hot path: one ranking, stored and rendered for the push."""
    from assist.live.suggestions import suggestion_create

    settings.RANKER_DIR = demo_ranker_dir
    call_command("import_catalog", DEMO_CATALOG, stdout=io.StringIO())
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    # Long enough for its language to be detected (and stored: one UPDATE, once a conversation).
    first = "My card has not arrived yet, it was ordered two weeks ago."
    suggestion_create(message_id=factories.MessageFactory(conversation=conversation, text=first).pk)
    message = factories.MessageFactory(conversation=conversation, text="where is my card")
    # Read the message with its checks and the versions of the model and the catalog (both
    # already in memory), the turns, the conditional insert in a savepoint (two statements).
    with django_assert_max_num_queries(5):
        suggestion = suggestion_create(message_id=message.pk)
    assert suggestion.seq == 2


def test_storing_a_message_is_one_statement(
    agent_user, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """The server's hot path: the access check is the INSERT's own condition."""
    from assist.live.messages import message_ingest
    from assist.roles import user_roles

    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    user_roles(agent_user)  # read once per socket (cached on its user), not per message
    # The INSERT in a savepoint (the test's transaction is open): three statements.
    with django_assert_num_queries(3), django_capture_on_commit_callbacks() as queued:
        ingested = message_ingest(
            conversation_id=conversation.pk,
            sender=agent_user,
            role="customer",
            text="where is my card",
            client_id="q-1",
        )
    assert ingested.created
    assert Message.objects.get(client_id="q-1").pk == ingested.message.pk
    assert len(queued) == 1  # the ranking, queued on commit
