"""Access taken away reaches open sockets within moments, however it was taken away.

The admin deactivates users, changes their groups, revokes tokens and reassigns conversations
by saving rows, outside any service, so these post_save receivers are what notices. Each sends
an `assist.access` event (after the commit) to the sockets concerned, which check their access
again (assist/live/consumers.py): a socket that lost its sign-in is closed, a subscription to
a conversation no longer readable is dropped. Connected in assist/apps.py.
"""

from typing import Any

from django.contrib.auth.models import User
from django.db.models.signals import m2m_changed, post_save

from assist.live.events import conversation_group, send_event_on_commit
from assist.models import AgentToken, Conversation
from assist.tokens import access_revoked


def user_saved(sender: Any, instance: User, **kwargs: Any) -> None:
    if not instance.is_active:
        access_revoked(user_id=instance.pk)


def user_groups_changed(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    # Only a user's own group list (instance is a User), and only losing a group matters.
    if isinstance(instance, User) and action in ("post_remove", "post_clear"):
        access_revoked(user_id=instance.pk)


def token_saved(sender: Any, instance: AgentToken, **kwargs: Any) -> None:
    if instance.revoked_at is not None:
        access_revoked(user_id=instance.user_id)


def conversation_saved(
    sender: Any, instance: Conversation, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    if created or (update_fields is not None and "assigned_agent" not in update_fields):
        return
    send_event_on_commit(
        conversation_group(instance.pk), {"type": "assist.access", "conversation": instance.pk}
    )


def connect() -> None:
    post_save.connect(user_saved, sender=User, dispatch_uid="assist.revocation.user")
    m2m_changed.connect(
        user_groups_changed, sender=User.groups.through, dispatch_uid="assist.revocation.groups"
    )
    post_save.connect(token_saved, sender=AgentToken, dispatch_uid="assist.revocation.token")
    post_save.connect(
        conversation_saved, sender=Conversation, dispatch_uid="assist.revocation.conversation"
    )
