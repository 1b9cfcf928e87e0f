import pytest
from django.test import override_settings

from assist.live.rendering import template_render
from tests import factories

pytestmark = pytest.mark.django_db


@override_settings(COMPANY_NAME="Acme Bank")
def test_fills_what_the_conversation_knows_and_marks_the_rest():
    agent = factories.agent(first_name="Dana", last_name="Reyes")
    conversation = factories.ConversationFactory(assigned_agent=agent, customer_name="Jo Park")
    template = factories.TemplateFactory(
        body="Hi {customer_first_name}, {agent_name} of {company_name}: refund {amount}."
    )
    rendered = template_render(template=template, conversation=conversation)
    assert rendered.text == "Hi Jo, Dana Reyes of Acme Bank: refund [[amount]]."
    assert rendered.unfilled == ("amount",)


def test_a_conversation_without_names_marks_them_instead_of_failing():
    conversation = factories.ConversationFactory(assigned_agent=None, customer_name="")
    template = factories.TemplateFactory(body="Hello {customer_name}, I am {agent_first_name}.")
    rendered = template_render(template=template, conversation=conversation)
    assert rendered.text == "Hello [[customer_name]], I am [[agent_first_name]]."
