from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from assist.tokens import parse_authorization, token_user


class AgentTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <token>`; exempt from CSRF because no cookie is involved."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        raw = parse_authorization(request.META.get("HTTP_AUTHORIZATION", ""))
        if not raw:
            return None
        user = token_user(raw)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class AgentTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token to the OpenAPI schema (drf-spectacular finds it by subclassing)."""

    target_class = "assist.api.authentication.AgentTokenAuthentication"
    name = "agentToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>`, from POST /api/tokens or `manage.py agent_token`.",
        }
