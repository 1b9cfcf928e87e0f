"""The kinds of users. Groups (and their permissions) are made by migrations 0002 and 0016."""

from typing import TypeGuard

from django.contrib.auth.models import AnonymousUser, User

AGENT = "agent"
CATALOG_ADMIN = "catalog_admin"
SUPERVISOR = "supervisor"
# A helpdesk's service account (not a person): opens conversations for agents, posts their
# messages and transfers them, through the REST API only (assist/access.py says what it reaches).
INTEGRATION = "integration"
PEOPLE_ROLES = (AGENT, CATALOG_ADMIN, SUPERVISOR)
ALL_ROLES = (*PEOPLE_ROLES, INTEGRATION)


def user_roles(user: User | AnonymousUser) -> frozenset[str]:
    """The user's role names, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached: frozenset[str] | None = getattr(user, "_assist_roles", None)
    if cached is None:
        if getattr(user, "is_superuser", False):
            # Every role a person has; a superuser is no service account.
            cached = frozenset(PEOPLE_ROLES)
        else:
            cached = frozenset(
                user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True)
            )
        user._assist_roles = cached  # type: ignore[attr-defined]  # a per-request cache
    return cached


def has_role(user: User | AnonymousUser, role: str) -> TypeGuard[User]:
    """Whether `user` has `role`; an anonymous user has none, so True means a signed-in User."""
    return role in user_roles(user)
