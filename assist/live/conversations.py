"""A conversation's lifecycle as agents and the helpdesk drive it: closing (resolving) a chat,
assigning and transferring it."""

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from assist.access import AnyUser, conversation_for_user, require_role
from assist.errors import InvalidInput
from assist.live.events import conversation_group, send_event_on_commit
from assist.models import Conversation
from assist.roles import AGENT, has_role


def conversation_close(*, user: AnyUser, conversation_id: int | str) -> tuple[Conversation, bool]:
    """Closes a conversation the agent `user` may act in; returns (conversation, changed).

    Idempotent: closing a closed conversation changes nothing and is no error, so a panel may
    send its `close` again after a reconnect. Only agents close (PermissionDenied for the
    read-only roles and for another agent's chat; Http404 for an unknown id). Every panel
    watching the conversation hears `assist.closed` after commit.
    """
    require_role(user, AGENT)
    conversation = conversation_for_user(user, conversation_id, write=True)
    return conversation, conversation_mark_closed(conversation)


def conversation_mark_closed(conversation: Conversation) -> bool:
    """Closes `conversation` for whoever was allowed to (an agent, or the helpdesk's signed
    webhook); whether this changed it. Announced to its panels as `assist.closed`."""
    with transaction.atomic():
        # One conditional UPDATE: of two racing closes exactly one changes the row and
        # announces it. `ended_at` never precedes `started_at` (a check constraint says so).
        changed = Conversation.objects.filter(
            pk=conversation.pk, status=Conversation.Status.OPEN
        ).update(
            status=Conversation.Status.CLOSED,
            ended_at=Greatest(Value(timezone.now()), F("started_at")),
        )
        if changed:
            event = {"type": "assist.closed", "conversation": conversation.pk}
            # Every panel showing the chat as a tab is subscribed to its group.
            send_event_on_commit(conversation_group(conversation.pk), event)
    conversation.refresh_from_db(fields=["status", "ended_at"])
    return bool(changed)


def conversation_assign(*, conversation: Conversation, agent: User | None) -> bool:
    """Assigns `conversation` to `agent` (None: to nobody), as the helpdesk says; whether this
    changed it.

    A transfer: the new agent may open and write in it from now on, the old one no longer
    (assist/access.py reads `assigned_agent`). Panels subscribed to it hear `assist.access`
    after commit and check their access again, so the old agent's tab loses it at once.
    """
    if agent is not None and not has_role(agent, AGENT):
        raise InvalidInput(f"{agent.username!r} is not an active agent")
    with transaction.atomic():
        changed = (
            Conversation.objects.filter(pk=conversation.pk)
            .exclude(assigned_agent=agent)
            .update(assigned_agent=agent)
        )
        if changed:
            event = {"type": "assist.access", "conversation": conversation.pk}
            send_event_on_commit(conversation_group(conversation.pk), event)
    conversation.refresh_from_db(fields=["assigned_agent"])
    return bool(changed)
