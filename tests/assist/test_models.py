"""Identity and integrity live in the database: these write around the services on purpose."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from assist.models import ModelVersion, Pick
from tests import factories

pytestmark = pytest.mark.django_db


def rejects(create) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_message_client_id_is_unique_per_conversation():
    message = factories.MessageFactory(client_id="same")
    rejects(lambda: factories.MessageFactory(conversation=message.conversation, client_id="same"))
    factories.MessageFactory(client_id="same")  # another conversation: fine


def test_only_agent_messages_name_a_template():
    template = factories.TemplateFactory()
    rejects(lambda: factories.MessageFactory(role="customer", template=template))
    rejects(lambda: factories.MessageFactory(role="robot"))


def test_conversation_external_id_is_unique_per_channel():
    factories.ConversationFactory(external_id="x", channel="chat")
    rejects(lambda: factories.ConversationFactory(external_id="x", channel="chat"))
    factories.ConversationFactory(external_id="x", channel="email")


def test_only_one_model_version_is_active():
    ModelVersion.objects.create(name="v1", path="/m/1", is_active=True)
    rejects(lambda: ModelVersion.objects.create(name="v2", path="/m/2", is_active=True))
    ModelVersion.objects.create(name="v3", path="/m/3", is_active=False)


def test_pick_client_id_is_unique_and_a_rank_needs_a_suggestion():
    conversation = factories.ConversationFactory()
    template = factories.TemplateFactory()

    def pick(client_id: str, **extra) -> Pick:
        values = {"action": "inserted", **extra}
        return Pick.objects.create(
            conversation=conversation,
            agent=conversation.assigned_agent,  # client ids are unique per agent
            template=template,
            client_id=client_id,
            picked_at=timezone.now(),
            **values,
        )

    pick("p1")
    rejects(lambda: pick("p1"))
    rejects(lambda: pick("p2", rank=1))
    rejects(lambda: pick("p3", action="teleported"))
    assert list(Pick.objects.values_list("client_id", flat=True)) == ["p1"]
