"""Agent tokens: issue, check, revoke. The raw token is shown once and never stored or logged."""

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from assist.models import AgentToken

TOKEN_BYTES = 32


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_issue(*, user: User, label: str = "") -> str:
    """A new token for `user`; returns the raw token, which only the caller ever sees."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    AgentToken.objects.create(user=user, digest=_digest(raw), prefix=raw[:8], label=label[:100])
    return raw


def token_user(raw: str) -> User | None:
    """The active user a live token belongs to, or None (unknown, expired, revoked or inactive
    user)."""
    if not raw or len(raw) > 200:
        return None
    token = (
        AgentToken.objects.select_related("user")
        .filter(
            digest=_digest(raw),
            revoked_at__isnull=True,
            # Expiry follows from the issue time, so no expiry column (and no migration) is
            # needed; changing AGENT_TOKEN_TTL_DAYS applies to tokens already issued.
            created_at__gt=timezone.now() - dt.timedelta(days=settings.AGENT_TOKEN_TTL_DAYS),
            user__is_active=True,
        )
        .first()
    )
    if token is None:
        return None
    AgentToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user


def token_revoke(*, raw: str) -> bool:
    return bool(
        AgentToken.objects.filter(digest=_digest(raw), revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def parse_authorization(header: str) -> str:
    """The token from an `Authorization: Token <token>` header value, or ''."""
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "token" else ""
