"""Who may reach what: one check per object kind, used by HTTP views and WebSocket consumers.

Agents reach only the conversations assigned to them (the agent who opened a new one, or whoever
the helpdesk's webhook assigns or transfers it to: assist/api/integrations.py); supervisors read
every conversation but write none; catalog admins edit templates (through Django admin's model
permissions, which migration 0002 grants to the groups).

A helpdesk's service account (role integration, assist/roles.py) acts for the helpdesk over the
REST API: it reads every conversation, opens one for a named agent (who is assigned it, never the
service account: conversation_assignee_for_open), posts messages in any of them (customer and
agent alike), and assigns or transfers them (PUT .../assignee). It has no panel: the WebSocket
and the panel page need the agent or supervisor role, the review pages the supervisor role, the
admin staff status, and it makes no picks (require_picker), as it sees no suggestions.

Unknown ids raise Http404; known ids the user may not reach raise PermissionDenied (403).
"""

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from assist.errors import InvalidInput
from assist.models import Conversation
from assist.roles import AGENT, INTEGRATION, SUPERVISOR, has_role, user_roles
from assist.wire import MAX_ID

# What request.user and a consumer's scope["user"] hold (the default user model).
AnyUser = User | AnonymousUser


def conversations_visible_to(user: AnyUser) -> QuerySet[Conversation]:
    if has_role(user, SUPERVISOR) or has_role(user, INTEGRATION):
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
            or INTEGRATION in roles
            or getattr(user, "is_superuser", False)
            or (AGENT in roles and conversation.assigned_agent_id == user.pk)
        ):
            return conversation
    raise PermissionDenied(NOT_YOURS)


NOT_YOURS = "This conversation is not assigned to you."
ANY_OWNER = None


def write_owner(user: AnyUser) -> int | None:
    """Whose conversations `user` may act in: an agent's own (their id), a superuser's or a
    service account's any (ANY_OWNER); PermissionDenied for everyone else (supervisors read
    but do not act).

    The one rule for writes: conversation_for_user(write=True) applies it to a conversation it
    has read, and the message write (assist/live/messages.py) in its INSERT's
    condition, so that a message costs one statement.
    """
    if getattr(user, "is_superuser", False) or INTEGRATION in user_roles(user):
        return ANY_OWNER
    if AGENT in user_roles(user):
        return user.pk
    raise PermissionDenied(NOT_YOURS)


def require_picker(user: AnyUser) -> None:
    """PermissionDenied for a service account: a pick is an agent's choice among the
    suggestions their panel showed, and a service account has no panel. (Whether the picker
    may act in the conversation is write_owner's question.)"""
    roles = user_roles(user)
    if INTEGRATION in roles and AGENT not in roles:
        raise PermissionDenied("A service account makes no picks.")


def active_agent(username: object) -> User:
    """The active agent with this username; InvalidInput (400) for anyone else."""
    if not isinstance(username, str) or not 0 < len(username) <= 150:
        raise InvalidInput("assignee must be a username of 1 to 150 characters")
    agent = User.objects.filter(username=username, is_active=True).first()
    if agent is None or not has_role(agent, AGENT):
        raise InvalidInput(f"no active agent {username!r}")
    return agent


def conversation_assignee_for_open(user: AnyUser, assignee: str | None) -> User:
    """Who a conversation that `user` opens is assigned to.

    An agent opens conversations for themselves: `assignee` may only name them (403 for
    anyone else: an agent does not hand work to a colleague; supervisors and the helpdesk
    transfer). A service account must name an active agent (400 otherwise), who gets the
    conversation; the service account itself is never assigned one. Everyone else: 403.
    """
    if has_role(user, AGENT):
        if assignee is not None and assignee != getattr(user, "username", None):
            raise PermissionDenied(
                "An agent opens conversations for themselves; only a service account (role "
                "integration) names another assignee."
            )
        return user
    if has_role(user, INTEGRATION):
        if assignee is None:
            raise InvalidInput("assignee is required: a service account opens for an agent")
        return active_agent(assignee)
    raise PermissionDenied(f"This needs the role {AGENT} or {INTEGRATION}.")


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
