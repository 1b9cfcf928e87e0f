"""Agent tokens: issue, check, revoke. The raw token is shown once and never stored or logged."""

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from assist.live.events import agent_group, send_event_on_commit
from assist.models import AgentToken

if TYPE_CHECKING:
    from django.db.models import QuerySet

TOKEN_BYTES = 32


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_issue(*, user: User, label: str = "") -> str:
    """A new token for `user`; returns the raw token, which only the caller ever sees."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    AgentToken.objects.create(user=user, digest=_digest(raw), prefix=raw[:8], label=label[:100])
    return raw


def _live_tokens() -> "QuerySet[AgentToken]":
    return AgentToken.objects.filter(
        revoked_at__isnull=True,
        # Expiry follows from the issue time, so no expiry column (and no migration) is
        # needed; changing AGENT_TOKEN_TTL_DAYS applies to tokens already issued.
        created_at__gt=timezone.now() - dt.timedelta(days=settings.AGENT_TOKEN_TTL_DAYS),
        user__is_active=True,
    )


def token_lookup(raw: str) -> AgentToken | None:
    """The live token (its user loaded) for a raw token, or None (unknown, expired, revoked or
    inactive user)."""
    if not raw or len(raw) > 200:
        return None
    token = _live_tokens().select_related("user").filter(digest=_digest(raw)).first()
    if token is None:
        return None
    AgentToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def token_user(raw: str) -> User | None:
    """The active user a live token belongs to, or None."""
    token = token_lookup(raw)
    return token.user if token else None


def token_is_live(token_id: int) -> bool:
    """Whether a token an open socket signed in with still works (assist/live/consumers.py)."""
    return _live_tokens().filter(pk=token_id).exists()


def token_revoke(*, raw: str) -> bool:
    """Revoke a token; sockets open with it are closed within moments (access_revoked)."""
    token = AgentToken.objects.filter(digest=_digest(raw), revoked_at__isnull=True).first()
    if token is None:
        return False
    AgentToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    access_revoked(user_id=token.user_id)
    return True


def access_revoked(*, user_id: int) -> None:
    """Tell the user's open sockets, after the commit, to check their sign-in again: a socket
    whose token was revoked or expired, or whose user was deactivated, is closed (4401)."""
    send_event_on_commit(agent_group(user_id), {"type": "assist.access", "conversation": None})


def parse_authorization(header: str) -> str:
    """The token from an `Authorization: Token <token>` header value, or ''."""
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "token" else ""
