"""Per-agent request rate for the REST API (the WebSocket has its own bucket per socket)."""

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import UserRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class AgentRateThrottle(UserRateThrottle):
    """`settings.API_RATE` per user, counted in the shared cache (Redis in production).

    The rate is read per request rather than once at import, so tests and deployments can change
    it. If the cache is unreachable the request is let through: a down Redis already means
    degraded mode, and picks must still be stored (docs/protocol.md).
    """

    def get_rate(self) -> str:
        return settings.API_RATE

    def allow_request(self, request: "Request", view: "APIView") -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("rate limit not checked: the cache is unreachable")
            return True
