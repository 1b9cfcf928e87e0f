"""The three kinds of users. Groups (and their permissions) are made by migration 0002."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

AGENT = "agent"
CATALOG_ADMIN = "catalog_admin"
SUPERVISOR = "supervisor"
ALL_ROLES = (AGENT, CATALOG_ADMIN, SUPERVISOR)


def user_roles(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The user's role names, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached: frozenset[str] | None = getattr(user, "_assist_roles", None)
    if cached is None:
        if getattr(user, "is_superuser", False):
            cached = frozenset(ALL_ROLES)
        else:
            cached = frozenset(
                user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True)  # type: ignore[union-attr]
            )
        user._assist_roles = cached  # type: ignore[union-attr]
    return cached


def has_role(user: AbstractBaseUser | AnonymousUser, role: str) -> bool:
    return role in user_roles(user)
