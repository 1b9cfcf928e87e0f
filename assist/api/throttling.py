"""Per-agent request rate for the REST API (the WebSocket has its own, assist/ratelimit.py)."""

import time
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from assist.ratelimit import rate_count, rate_window_start

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.request import Request
    from rest_framework.views import APIView


class AgentRateThrottle(SimpleRateThrottle):
    """`settings.API_RATE` per user (per address when signed out), counted in the shared cache
    in windows of the rate's period (assist/ratelimit.py; let through if the cache is down).

    The rate is read per request rather than once at import, so tests and deployments can
    change it.
    """

    scope = "agent"

    def get_rate(self) -> str:
        return settings.API_RATE

    def get_cache_key(self, request: "Request", view: "APIView") -> str:
        who = request.user.pk if request.user and request.user.is_authenticated else None
        ident = f"user:{who}" if who is not None else f"addr:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"

    def allow_request(self, request: "Request", view: "APIView") -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.num_requests is None or self.duration is None:
            return True
        key = self.get_cache_key(request, view)
        self.now = time.time()
        count = rate_count(key, period=self.duration, limit=self.num_requests)
        if count is None:
            return True
        self.window_start = rate_window_start(key) or self.now
        return count <= self.num_requests

    def wait(self) -> float:
        return max(1.0, self.window_start + (self.duration or 0) - self.now)
