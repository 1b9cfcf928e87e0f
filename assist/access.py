"""Who may reach what: one check per object kind, used by HTTP views and WebSocket consumers.

Agents reach only the conversations assigned to them (the agent who opened a new one, or whoever
the helpdesk's webhook assigns or transfers it to: assist/api/integrations.py); supervisors read
every conversation but write none; catalog admins edit templates (through Django admin's model
permissions, which migration 0002 grants to the groups).
Unknown ids raise Http404; known ids the user may not reach raise PermissionDenied (403).
"""

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from assist.models import Conversation
from assist.roles import AGENT, SUPERVISOR, has_role, user_roles
from assist.wire import MAX_ID

# What request.user and a consumer's scope["user"] hold (the default user model).
AnyUser = User | AnonymousUser


def conversations_visible_to(user: AnyUser) -> QuerySet[Conversation]:
    if has_role(user, SUPERVISOR):
        return Conversation.objects.all()
    if has_role(user, AGENT):
        return Conversation.objects.filter(assigned_agent=user)
    return Conversation.objects.none()


def conversation_for_user(
    user: AnyUser, conversation_id: int | str, *, write: bool = False
) -> Conversation:
    """The conversation if `user` may read it (or, with write=True, act in it)."""
    try:
        pk = int(conversation_id)
        if not 0 < pk <= MAX_ID:  # a URL's <int:> has no bound; the column has
            raise ValueError(pk)
        conversation = Conversation.objects.select_related("assigned_agent", "experiment_arm").get(
            pk=pk
        )
    except (Conversation.DoesNotExist, ValueError, TypeError) as error:
        raise Http404("No such conversation.") from error
    if write:
        owner = write_owner(user)
        if owner is ANY_OWNER or conversation.assigned_agent_id == owner:
            return conversation
    else:
        roles = user_roles(user)
        if (
            SUPERVISOR in roles
            or getattr(user, "is_superuser", False)
            or (AGENT in roles and conversation.assigned_agent_id == user.pk)
        ):
            return conversation
    raise PermissionDenied(NOT_YOURS)


NOT_YOURS = "This conversation is not assigned to you."
ANY_OWNER = None


def write_owner(user: AnyUser) -> int | None:
    """Whose conversations `user` may act in: an agent's own (their id), a superuser's any
    (ANY_OWNER); PermissionDenied for everyone else (supervisors read but do not act).

    The one rule for writes: conversation_for_user(write=True) applies it to a conversation it
    has read, and the message write (assist/live/messages.py) in its INSERT's
    condition, so that a message costs one statement.
    """
    if getattr(user, "is_superuser", False):
        return ANY_OWNER
    if AGENT in user_roles(user):
        return user.pk
    raise PermissionDenied(NOT_YOURS)


def review_conversations(user: AnyUser) -> QuerySet[Conversation]:
    """Every conversation, for supervisor review (lists, timelines, metrics, exports,
    experiments); PermissionDenied (403) for everyone else, agents and catalog admins included.
    """
    require_role(user, SUPERVISOR)
    return Conversation.objects.all()


def require_role(user: AnyUser, *roles: str) -> None:
    """PermissionDenied unless the user has one of `roles`."""
    if not user_roles(user) & set(roles):
        raise PermissionDenied(f"This needs the role {' or '.join(roles)}.")
