"""Filling a template's placeholders from what the conversation knows."""

from django.conf import settings

from assist.models import Conversation
from templates_app.models import ResponseTemplate
from templates_app.placeholders import Rendered, render


def placeholder_values(conversation: Conversation) -> dict[str, str]:
    """The values the system knows for a conversation; others stay visibly unfilled."""
    agent = conversation.assigned_agent
    agent_name = (agent.get_full_name() or agent.get_username()) if agent else ""
    customer = conversation.customer_name.strip()
    return {
        "customer_name": customer,
        "customer_first_name": customer.split()[0] if customer else "",
        "agent_name": agent_name,
        "agent_first_name": (agent.first_name or agent_name.split()[0]) if agent else "",
        "company_name": settings.COMPANY_NAME,
        "conversation_id": conversation.external_id,
    }


def template_render(*, template: ResponseTemplate, conversation: Conversation) -> Rendered:
    return render(template.body, placeholder_values(conversation))
