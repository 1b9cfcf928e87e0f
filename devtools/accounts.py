"""Users and conversations for benchmarks, made the way the product makes them."""

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User

from assist.live.messages import conversation_open
from assist.models import Conversation
from assist.roles import CATALOG_ADMIN, SUPERVISOR


def user_with_role(role: str, *, username: str | None = None) -> User:
    """A user in the role's group (made by migration 0002); staff for the admin's roles."""
    user = get_user_model().objects.create_user(
        username=username or f"bench-{role}-{uuid.uuid4().hex[:8]}",
        is_staff=role in (CATALOG_ADMIN, SUPERVISOR),
    )
    user.groups.add(Group.objects.get(name=role))
    return user


def open_conversation(agent: User) -> Conversation:
    """A new open conversation assigned to `agent`, as the extension's first message opens it."""
    conversation, _ = conversation_open(agent=agent, external_id=f"bench-{uuid.uuid4().hex}")
    return conversation
