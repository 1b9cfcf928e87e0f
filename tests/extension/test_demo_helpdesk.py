"""The demo helpdesk's pages and JSON endpoints, through the HTTP client."""

import pytest
from django.core import signing
from django.test import Client

from assist.demo.views import LINK_SALT, customer_link
from assist.models import Conversation, Message
from tests import factories
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_on")]


@pytest.fixture
def demo_on(settings):
    settings.DEMO_HELPDESK = True


@pytest.fixture
def chat(agent_user):
    return factories.ConversationFactory(
        assigned_agent=agent_user, channel="demo", customer_name="Jo Park"
    )


def test_off_unless_enabled(agent_user, settings):
    settings.DEMO_HELPDESK = False
    assert client_for(agent_user).get("/demo/helpdesk/").status_code == 404
    settings.DEMO_HELPDESK = True
    assert client_for(agent_user).get("/demo/helpdesk/").status_code == 200


def test_agent_page_needs_a_signed_in_agent(supervisor_user):
    assert Client().get("/demo/helpdesk/").status_code == 302
    assert client_for(supervisor_user).get("/demo/helpdesk/").status_code == 403


def test_new_customer_opens_a_demo_chat_for_the_agent(agent_user):
    client = client_for(agent_user)
    response = client.post("/demo/helpdesk/new", {"customer_name": "Mei Tanaka"})
    conversation = Conversation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/demo/helpdesk/?c={conversation.pk}&new=1"
    assert (conversation.channel, conversation.customer_name) == ("demo", "Mei Tanaka")
    assert conversation.assigned_agent == agent_user
    page = client.get(response["Location"]).content.decode()
    assert f'data-external-id="{conversation.external_id}"' in page
    assert customer_link(conversation) in page
    assert f"/panel/?conversation={conversation.pk}&amp;embed=1" in page


def test_customer_writes_through_the_signed_link_once_per_client_id(chat):
    url = customer_link(chat) + "messages"
    client = Client(enforce_csrf_checks=False)
    page = client.get(customer_link(chat))
    assert page.status_code == 200 and b"Jo Park" in page.content
    for _ in range(2):  # a retried post
        response = client.post(url, {"text": "My card has not arrived", "client_id": "c-1"})
        assert response.status_code == 200
    body = response.json()
    assert "id" not in body
    assert body["messages"] == [
        {
            "id": "c-1",
            "role": "customer",
            "text": "My card has not arrived",
            "sent_at": body["messages"][0]["sent_at"],
        }
    ]
    message = Message.objects.get()
    assert (message.conversation, message.role, message.client_id) == (chat, "customer", "c-1")
    bad = client.post(url, {"text": " ", "client_id": "c-2"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_customer_link_is_not_an_open_door(chat):
    other = factories.ConversationFactory(channel="chat")
    forged = signing.dumps(chat.pk, salt="another purpose")
    assert Client().get(f"/demo/helpdesk/customer/{forged}/").status_code == 404
    assert Client().get(f"/demo/helpdesk/customer/{chat.pk}/").status_code == 404
    # A real conversation outside the demo cannot be reached even with a valid signature.
    outside = signing.dumps(other.pk, salt=LINK_SALT)
    assert Client().get(f"/demo/helpdesk/customer/{outside}/").status_code == 404


def test_agent_polls_messages_with_their_client_ids(agent_user, other_agent, chat):
    factories.MessageFactory(conversation=chat, role="customer", text="Hi", client_id="c-9")
    response = client_for(agent_user).get(f"/demo/helpdesk/conversations/{chat.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["external_id"], body["customer_name"]) == (chat.external_id, "Jo Park")
    assert [(m["id"], m["role"], m["text"]) for m in body["messages"]] == [
        ("c-9", "customer", "Hi")
    ]
    assert client_for(other_agent).get(f"/demo/helpdesk/conversations/{chat.pk}").status_code == 403
    assert client_for(agent_user).get("/demo/helpdesk/conversations/999999").status_code == 404
