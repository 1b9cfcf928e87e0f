"""A reply sent after a pick carries it and is labelled with its template however much the
agent edited it, by one rule (assist/labels.py) that training data, metrics and review share.

End to end through the REST API (and the socket, once): a template with fields to fill is
picked, edited and sent; then the stored reply, the training file, the dashboard's numbers and
the review timeline all agree on what was sent.
"""

import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.urls import reverse

from assist.labels import SENT_MIN_SIMILARITY, counts_as_sent, edit_similarity
from assist.lifecycle.training_data import conversations_write_jsonl
from assist.models import Conversation, Message, Pick
from assist.review import metrics
from assist.tokens import token_issue
from config.asgi import application
from tests import factories
from tests.conftest import client_for

REFUND = (
    "Hi {customer_first_name}, your refund of {amount} is on its way and will reach your "
    "card within {days} working days."
)
# What the panel inserted (the customer's name filled, the amount and days left to fill) and
# what the agent sent after filling both and adding a sentence of their own.
EDITED = (
    "Hi Jo, your refund of 42.50 EUR is on its way and will reach your card within 3 working "
    "days. Sorry for the wait!"
)
REWRITTEN = "Let me check with our payments team and get back to you about that today."


def token_client(user):
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")


@pytest.fixture
def shown(agent_user):
    """agent_user's conversation with Jo, showing a list with the refund template first."""
    refund = factories.TemplateFactory(key="refund.amount", title="Refund on its way", body=REFUND)
    other = factories.TemplateFactory(key="general.hello")
    conversation = factories.ConversationFactory(assigned_agent=agent_user, customer_name="Jo Park")
    message = factories.MessageFactory(conversation=conversation, text="Where is my refund?")
    return factories.SuggestionFactory(message=message, templates=[refund, other], seq=1)


def _pick(client, suggestion, client_id="p-1", **fields):
    body = {
        "conversation": suggestion.conversation_id,
        "suggestion": suggestion.pk,
        "template": "refund.amount",
        "rank": 1,
        "action": "inserted",
        "client_id": client_id,
        **fields,
    }
    return client.post(reverse("api-picks"), body, "application/json")


def _reply(client, conversation_id, text, **fields):
    body = {"role": "agent", "text": text, "client_id": str(uuid.uuid4()), **fields}
    url = reverse("api-messages", args=[conversation_id])
    return client.post(url, body, "application/json")


def _reference(suggestion, client_id="p-1", template="refund.amount"):
    return {"client_id": client_id, "template": template, "suggestion": suggestion.pk}


def test_similarity_measures_words_kept_and_ignores_unfilled_fields():
    inserted = "Hi Jo, your refund of [[amount]] will arrive in [[days]] days."
    assert edit_similarity(inserted, inserted) == 1.0
    assert edit_similarity(inserted, "hi jo,  your REFUND of will arrive in days.") == 1.0
    filled = edit_similarity(inserted, "Hi Jo, your refund of 42 EUR will arrive in 3 days.")
    assert SENT_MIN_SIMILARITY < filled < 1.0
    assert edit_similarity(inserted, REWRITTEN) < SENT_MIN_SIMILARITY
    assert counts_as_sent(1, None) and counts_as_sent(1, filled)
    assert not counts_as_sent(1, 0.2) and not counts_as_sent(None, 1.0)


def test_an_edited_placeholder_template_is_labelled_measured_and_counted(
    agent_user, shown, supervisor_user, tmp_path
):
    client = token_client(agent_user)
    assert _pick(client, shown).status_code == 201
    response = _reply(client, shown.conversation_id, EDITED, pick=_reference(shown))
    assert response.status_code == 201, response.json()

    reply = Message.objects.get(pk=response.json()["id"])
    assert reply.template.key == "refund.amount"
    assert (reply.shown_suggestion_id, reply.shown_rank) == (shown.pk, 1)
    assert SENT_MIN_SIMILARITY <= reply.edit_similarity < 1.0

    # Training labels the turn with the template...
    path = tmp_path / "conversations.jsonl"
    conversations_write_jsonl(Conversation.objects.all(), path)
    turns = json.loads(path.read_text())["turns"]
    assert turns[-1] == {"role": "agent", "text": turns[-1]["text"], "template": "refund.amount"}

    # ...the metrics count it as a templated reply, a top-1 hit and an edited one...
    overview = metrics.overview(metrics.Period())
    assert (overview["replies"], overview["top1"], overview["with_list"]) == (1, 1, 1)
    assert (overview["edited_replies"], overview["free_text_replies"]) == (1, 0)
    assert overview["mean_edit_similarity"] == pytest.approx(reply.edit_similarity)
    assert not metrics.never_used_templates(metrics.Period()).filter(key="refund.amount")

    # ...and review shows it sent, with how much was kept.
    page = client_for(supervisor_user).get(
        reverse("review:conversation", args=[shown.conversation_id])
    )
    text = page.content.decode()
    assert "template <code>refund.amount</code>" in text
    assert f"{reply.edit_similarity * 100:.0f}% of it kept" in text


def test_the_same_edit_without_a_pick_is_the_agents_own_text(agent_user, shown, tmp_path):
    """What older clients did with an edited reply: name nothing. Free text, never matched to
    the catalog by its wording."""
    response = _reply(token_client(agent_user), shown.conversation_id, EDITED)
    assert response.status_code == 201
    reply = Message.objects.get(pk=response.json()["id"])
    assert (reply.template, reply.edit_similarity) == (None, None)
    overview = metrics.overview(metrics.Period())
    assert (overview["replies"], overview["free_text_replies"]) == (0, 1)


def test_a_reply_rewritten_past_the_rule_keeps_its_facts_but_counts_as_free_text(
    agent_user, shown, supervisor_user, tmp_path
):
    client = token_client(agent_user)
    _pick(client, shown)
    response = _reply(client, shown.conversation_id, REWRITTEN, pick=_reference(shown))
    assert response.status_code == 201
    reply = Message.objects.get(pk=response.json()["id"])
    assert reply.template.key == "refund.amount"
    assert reply.edit_similarity < SENT_MIN_SIMILARITY

    path = tmp_path / "conversations.jsonl"
    conversations_write_jsonl(Conversation.objects.all(), path)
    assert json.loads(path.read_text())["turns"][-1]["template"] is None
    overview = metrics.overview(metrics.Period())
    assert (overview["replies"], overview["top1"]) == (0, 0)
    assert (overview["free_text_replies"], overview["rewritten_replies"]) == (1, 1)
    assert metrics.never_used_templates(metrics.Period()).filter(key="refund.amount").exists()
    page = client_for(supervisor_user).get(
        reverse("review:conversation", args=[shown.conversation_id])
    )
    assert "rewritten from template <code>refund.amount</code>" in page.content.decode()


def test_an_older_client_naming_an_unedited_template_is_measured_as_unchanged(agent_user, shown):
    inserted = "Hi Jo, your refund of [[amount]] is on its way and will reach your card within "
    inserted += "[[days]] working days."
    response = _reply(
        token_client(agent_user), shown.conversation_id, inserted, template="refund.amount"
    )
    assert response.status_code == 201
    reply = Message.objects.get(pk=response.json()["id"])
    assert (reply.template.key, reply.edit_similarity, reply.shown_rank) == (
        "refund.amount",
        1.0,
        1,
    )


def test_a_pick_not_stored_yet_is_taken_on_its_lists_word(agent_user, shown):
    """The pick may still be on its way to a worker when the reply comes: the reply is stored
    with the template, as long as the list is this conversation's and shows it."""
    response = _reply(
        token_client(agent_user), shown.conversation_id, EDITED, pick=_reference(shown, "p-9")
    )
    assert response.status_code == 201
    assert Message.objects.get(pk=response.json()["id"]).template.key == "refund.amount"


def _refused(response, detail):
    assert response.status_code == 400, response.content
    assert detail in response.json()["detail"]
    assert not Message.objects.filter(role="agent").exists()


def test_a_pick_of_another_conversation_is_refused_and_nothing_stored(agent_user, shown):
    client = token_client(agent_user)
    _pick(client, shown)
    elsewhere = factories.ConversationFactory(assigned_agent=agent_user)
    # The pick's own conversation is elsewhere...
    _refused(
        _reply(client, elsewhere.pk, EDITED, pick=_reference(shown)),
        "no suggestion",
    )
    # ...and without a list to give it away, the stored pick does.
    search_pick = {"client_id": "p-1", "template": "refund.amount", "suggestion": None}
    _refused(
        _reply(client, elsewhere.pk, EDITED, pick=search_pick),
        "made in another conversation",
    )


def test_a_pick_of_another_agent_is_refused_and_nothing_stored(agent_user, other_agent, shown):
    _pick(token_client(agent_user), shown)
    Conversation.objects.update(assigned_agent=other_agent)  # a transfer, say
    _refused(
        _reply(token_client(other_agent), shown.conversation_id, EDITED, pick=_reference(shown)),
        "another agent's",
    )


def test_a_pick_reference_must_match_the_stored_pick(agent_user, shown):
    client = token_client(agent_user)
    _pick(client, shown)
    wrong = _reference(shown, template="general.hello")
    _refused(_reply(client, shown.conversation_id, EDITED, pick=wrong), "another template")
    _refused(
        _reply(
            client,
            shown.conversation_id,
            EDITED,
            pick=_reference(shown),
            template="general.hello",
        ),
        "different templates",
    )
    off_list = factories.TemplateFactory(key="not.listed")
    _refused(
        _reply(client, shown.conversation_id, EDITED, pick=_reference(shown, "p-2", off_list.key)),
        "not on that suggestion list",
    )


def test_only_an_agent_reply_carries_a_pick(agent_user, shown):
    body = {"role": "customer", "text": "hi", "client_id": "c-1", "pick": _reference(shown)}
    url = reverse("api-messages", args=[shown.conversation_id])
    response = token_client(agent_user).post(url, body, "application/json")
    _refused(response, "only agent messages")
    assert not Message.objects.filter(client_id="c-1").exists()


def test_someone_who_may_not_write_learns_nothing_from_a_bad_pick(agent_user, other_agent, shown):
    response = _reply(
        token_client(other_agent), shown.conversation_id, EDITED, pick=_reference(shown, "zz")
    )
    assert response.status_code in (403, 404)
    assert Pick.objects.count() == 0 and not Message.objects.filter(role="agent").exists()


# The socket carries the same `pick` field (docs/protocol.md); one pass through it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_on_the_socket_an_edited_reply_after_a_pick_is_labelled():
    agent, suggestion = await sync_to_async(_socket_setup)()
    raw = await sync_to_async(token_issue)(user=agent)
    headers = [(b"origin", b"http://testserver"), (b"authorization", f"Token {raw}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/assist/", headers=headers)
    assert (await communicator.connect())[0]
    await _receive(communicator, "ready")
    conversation = suggestion.conversation_id
    pick = {
        "type": "pick",
        "conversation": conversation,
        "suggestion": suggestion.pk,
        "template": "refund.amount",
        "rank": 1,
        "action": "inserted",
        "client_id": "ws-p1",
    }
    await communicator.send_to(text_data=json.dumps(pick))
    assert (await _receive(communicator, "ack"))["kind"] == "pick"
    reply = {
        "type": "message",
        "conversation": conversation,
        "role": "agent",
        "text": EDITED,
        "client_id": "ws-m1",
        "pick": {"client_id": "ws-p1", "template": "refund.amount", "suggestion": suggestion.pk},
    }
    await communicator.send_to(text_data=json.dumps(reply))
    ack = await _receive(communicator, "ack")
    assert ack["kind"] == "message"
    stored = await sync_to_async(Message.objects.get)(pk=ack["id"])
    assert stored.template_id is not None and SENT_MIN_SIMILARITY <= stored.edit_similarity < 1

    # A reference to a pick the socket's agent did not make here: an error, nothing stored.
    elsewhere = await sync_to_async(factories.ConversationFactory)(assigned_agent=agent)
    bad = {**reply, "conversation": elsewhere.pk, "client_id": "ws-m2"}
    bad["pick"] = {**reply["pick"], "suggestion": None}
    await communicator.send_to(text_data=json.dumps(bad))
    error = await _receive(communicator, "error")
    assert (error["code"], error["client_id"]) == ("invalid", "ws-m2")
    assert not await sync_to_async(Message.objects.filter(client_id="ws-m2").exists)()
    await communicator.disconnect()


def _socket_setup():
    agent = factories.agent(username="sam")
    refund = factories.TemplateFactory(key="refund.amount", body=REFUND)
    conversation = factories.ConversationFactory(assigned_agent=agent, customer_name="Jo Park")
    message = factories.MessageFactory(conversation=conversation)
    return agent, factories.SuggestionFactory(message=message, templates=[refund], seq=1)


async def _receive(communicator, kind):
    for _ in range(10):
        frame = json.loads(await communicator.receive_from(timeout=10))
        if frame["type"] == kind:
            return frame
    raise AssertionError(f"no {kind} frame")
