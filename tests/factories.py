"""Factories for every app's models; tests build data through these, never by hand."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from assist.models import Conversation, Message, ModelVersion, Pick, Suggestion
from assist.roles import AGENT, CATALOG_ADMIN, SUPERVISOR
from templates_app.models import ResponseTemplate


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
            self.is_staff = extracted in (CATALOG_ADMIN, SUPERVISOR)
        if create:
            self.save()


def agent(**kwargs: object):
    return UserFactory(role=AGENT, **kwargs)


def supervisor(**kwargs: object):
    return UserFactory(role=SUPERVISOR, **kwargs)


def catalog_admin(**kwargs: object):
    return UserFactory(role=CATALOG_ADMIN, **kwargs)


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponseTemplate

    key = factory.Sequence(lambda n: f"general.template_{n}")
    title = factory.Sequence(lambda n: f"Template {n}")
    body = "Hello {customer_first_name}, this is {agent_first_name} from {company_name}."
    category = "general"


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    external_id = factory.Sequence(lambda n: f"conv-{n}")
    channel = "chat"
    customer_name = factory.Faker("name")
    started_at = factory.LazyFunction(timezone.now)
    assigned_agent = factory.LazyFunction(agent)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    role = "customer"
    text = "My card has not arrived yet."
    sent_at = factory.LazyFunction(timezone.now)
    client_id = factory.Sequence(lambda n: f"client-{n}")


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    name = factory.Sequence(lambda n: f"model-v{n}")
    path = factory.Sequence(lambda n: f"/models/v{n}")


class SuggestionFactory(factory.django.DjangoModelFactory):
    """`items` from a list of templates: `SuggestionFactory(message=m, templates=[a, b])`."""

    class Meta:
        model = Suggestion
        exclude = ("templates",)

    message = factory.SubFactory(MessageFactory)
    conversation = factory.SelfAttribute("message.conversation")
    seq = factory.Sequence(lambda n: n + 1)
    templates = ()
    items = factory.LazyAttribute(
        lambda o: [
            {"key": t.key, "probability": round(0.5 / (i + 1), 6), "confident": i == 0}
            for i, t in enumerate(o.templates)
        ]
    )


class PickFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pick

    conversation = factory.SelfAttribute("suggestion.conversation")
    action = "inserted"
    agent = factory.SelfAttribute("conversation.assigned_agent")
    client_id = factory.Sequence(lambda n: f"pick-{n}")
    picked_at = factory.LazyFunction(timezone.now)
