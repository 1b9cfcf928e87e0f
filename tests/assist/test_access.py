"""Each role boundary, over HTTP: 403 (or 404 for unknown ids), never a crash or a leak."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from assist.access import conversation_for_user
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def detail(conversation_id: int) -> str:
    return reverse("api-conversation", args=[conversation_id])


def test_an_agent_reads_only_their_own_conversations(agent_user, other_agent):
    mine = factories.ConversationFactory(assigned_agent=agent_user)
    theirs = factories.ConversationFactory(assigned_agent=other_agent)
    factories.MessageFactory(conversation=theirs, text="secret account details")
    client = client_for(agent_user)

    assert client.get(detail(mine.pk)).status_code == 200
    response = client.get(detail(theirs.pk))
    assert response.status_code == 403
    assert "secret" not in response.content.decode()
    listed = client.get(reverse("api-conversations")).json()["results"]
    assert [c["id"] for c in listed] == [mine.pk]


def test_unknown_conversation_is_404(agent_user):
    assert client_for(agent_user).get(detail(999_999)).status_code == 404


def test_supervisor_reads_every_conversation_but_may_not_act_in_one(supervisor_user, agent_user):
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    factories.MessageFactory(conversation=conversation, text="hello")
    client = client_for(supervisor_user)

    body = client.get(detail(conversation.pk)).json()
    assert [m["text"] for m in body["messages"]] == ["hello"]
    assert len(client.get(reverse("api-conversations")).json()["results"]) == 1
    with pytest.raises(PermissionDenied):
        conversation_for_user(supervisor_user, conversation.pk, write=True)


def test_catalog_admin_sees_no_conversations(catalog_admin_user, agent_user):
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    client = client_for(catalog_admin_user)
    assert client.get(detail(conversation.pk)).status_code == 403
    assert client.get(reverse("api-conversations")).json()["results"] == []


def test_model_versions_are_for_supervisors_and_catalog_admins(
    agent_user, supervisor_user, catalog_admin_user
):
    url = reverse("api-model-versions")
    assert client_for(agent_user).get(url).status_code == 403
    assert client_for(supervisor_user).get(url).status_code == 200
    assert client_for(catalog_admin_user).get(url).status_code == 200


def test_anonymous_requests_are_refused():
    client = Client()
    # 401 with `WWW-Authenticate: Token`: the API says how to authenticate.
    response = client.get(reverse("api-conversations"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert client.get(reverse("api-templates")).status_code == 401


def test_a_user_without_a_role_gets_403_from_the_catalog_search(db):
    nobody = factories.UserFactory()
    assert client_for(nobody).get(reverse("api-templates")).status_code == 403


def test_catalog_search_finds_active_templates_by_any_field(agent_user):
    factories.TemplateFactory(key="fees.atm", title="ATM fees", body="Cash withdrawal fee")
    factories.TemplateFactory(key="fees.old", title="Old fees", body="Cash", is_active=False)
    factories.TemplateFactory(key="cards.lost", title="Lost card", body="Blocked")
    results = client_for(agent_user).get(reverse("api-templates"), {"q": "cash fee"}).json()
    assert [t["key"] for t in results["results"]] == ["fees.atm"]
