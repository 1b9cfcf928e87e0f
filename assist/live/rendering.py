"""Filling a template's placeholders from what the conversation knows, and saying where from.

Six names come from the conversation's record, the agent and the settings; four more
(`amount`, `date`, `last4`, `reference`) from what the customer typed, found by fields.py in
their latest messages, newest first, in English and the conversation's language. Those are read
only when a template on screen asks for one, so a list without them costs no extra query. Every
filled value carries its source, which the panel shows beside the suggestion ("from the
customer's message, 14:02").
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from assist.live import fields
from assist.models import Conversation, Message
from templates_app.models import ResponseTemplate
from templates_app.placeholders import Rendered, render

# How far back the customer's messages are read for typed values.
TYPED_MESSAGES = 20

# Each finder gets (text, sent_at, the conversation's language).
_TYPED: dict[str, Callable[[str, datetime, str], fields.Found | None]] = {
    "amount": lambda text, _sent_at, language: fields.find_amount(text, language=language),
    "date": lambda text, sent_at, language: fields.find_date(
        text, sent_at=sent_at, language=language
    ),
    "last4": lambda text, _sent_at, language: fields.find_card_ending(text, language=language),
    "reference": lambda text, _sent_at, language: fields.find_reference(text, language=language),
}


@dataclass(frozen=True)
class FieldValue:
    value: str
    # "conversation" (the helpdesk's record), "agent" (the signed-in agent's profile),
    # "settings" (the deployment's configuration) or "customer" (a customer message).
    source: str
    message_id: int | None = None
    sent_at: datetime | None = None
    matched: str = ""  # the customer's words, for a value read from a message

    def as_json(self, name: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "value": self.value, "source": self.source}
        if self.message_id is not None and self.sent_at is not None:
            out |= {
                "message": self.message_id,
                "sent_at": self.sent_at.isoformat(),
                "matched": self.matched,
            }
        return out


class ConversationValues(Mapping[str, str]):
    """Placeholder values for one conversation (none without one), read as they are asked for."""

    def __init__(
        self,
        conversation: Conversation | None,
        customer_messages: list[tuple[int, str, datetime]] | None = None,
    ) -> None:
        self.conversation = conversation
        self._known = _record_values(conversation) if conversation else {}
        # (id, text, sent_at), newest first: read when first needed, unless the caller has them.
        self._messages = (
            customer_messages[:TYPED_MESSAGES] if customer_messages is not None else None
        )

    def field(self, name: str) -> FieldValue | None:
        if name in _TYPED and name not in self._known:
            self._known[name] = self._typed(name)
        found = self._known.get(name)
        return found if found and found.value else None

    def __getitem__(self, name: str) -> str:
        found = self.field(name)
        if found is None:
            raise KeyError(name)
        return found.value

    def __iter__(self) -> Iterator[str]:
        names = [*self._known, *(n for n in _TYPED if n not in self._known)]
        return iter([name for name in names if self.field(name)])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def provenance(self, names: Iterable[str]) -> list[dict[str, Any]]:
        """Where each of `names` (filled ones) got its value, as the protocol's `fields`."""
        return [found.as_json(name) for name in names if (found := self.field(name))]

    def _typed(self, name: str) -> FieldValue | None:
        if self.conversation is None:
            return None
        if self._messages is None:
            self._messages = list(
                self.conversation.messages.filter(role=Message.Role.CUSTOMER)
                .order_by("-sent_at", "-id")
                .values_list("id", "text", "sent_at")[:TYPED_MESSAGES]
            )
        for message_id, text, sent_at in self._messages:
            found = _TYPED[name](text, sent_at, self.conversation.language)
            if found:
                if timezone.is_naive(sent_at):  # SQLite's raw rows: stored in UTC
                    sent_at = timezone.make_aware(sent_at, UTC)
                return FieldValue(
                    found.value, "customer", message_id, sent_at, matched=found.matched
                )
        return None


def _record_values(conversation: Conversation) -> dict[str, FieldValue | None]:
    agent = conversation.assigned_agent
    agent_name = (agent.get_full_name() or agent.get_username()) if agent else ""
    customer = conversation.customer_name.strip()
    return {
        "customer_name": FieldValue(customer, "conversation"),
        "customer_first_name": FieldValue(customer.split()[0] if customer else "", "conversation"),
        "agent_name": FieldValue(agent_name, "agent"),
        "agent_first_name": FieldValue(
            (agent.first_name or agent_name.split()[0]) if agent else "", "agent"
        ),
        "company_name": FieldValue(settings.COMPANY_NAME, "settings"),
        "conversation_id": FieldValue(conversation.external_id, "conversation"),
    }


def placeholder_values(
    conversation: Conversation | None,
    *,
    customer_messages: list[tuple[int, str, datetime]] | None = None,
) -> ConversationValues:
    """The values the system knows for a conversation; others stay visibly unfilled.

    `customer_messages`: (id, text, sent_at) of the customer's messages, newest first, where the
    caller has read them already (the worker has, for the ranking), to save reading them again.
    """
    return ConversationValues(conversation, customer_messages)


def template_render(*, template: ResponseTemplate, conversation: Conversation) -> Rendered:
    return render(template.body, placeholder_values(conversation))
