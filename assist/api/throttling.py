"""Per-agent request rate for the REST API (the WebSocket has its own bucket per socket)."""

import logging
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class AgentRateThrottle(SimpleRateThrottle):
    """`settings.API_RATE` per user (per address when signed out), counted in the shared cache
    (Redis in production) in windows of the rate's period that start at a window's first
    request.

    One atomic INCR a request: DRF's own throttle reads a history list and writes it back, so
    parallel requests overwrite each other's entries (872 of 1,000 parallel requests passed a
    limit of 600). A fixed window may let up to twice the rate through across a window edge;
    the limit is there to stop a runaway client, not to meter.

    The rate is read per request rather than once at import, so tests and deployments can
    change it. If the cache is unreachable the request is let through: a down Redis already
    means degraded mode, and picks must still be stored (docs/protocol.md).
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
        try:
            # add is SET NX (atomic): the first request of a window starts its counter, with
            # the window's length as expiry, and notes when the window began (Retry-After).
            if cache.add(key, 0, timeout=self.duration):
                cache.set(f"{key}:start", self.now, timeout=self.duration)
            try:
                count = cache.incr(key)
            except ValueError:  # the window ended between the two calls: start the next
                cache.add(key, 0, timeout=self.duration)
                count = cache.incr(key)
            self.window_start = cache.get(f"{key}:start") or self.now
        except Exception:
            logger.warning("rate limit not checked: the cache is unreachable")
            return True
        return count <= self.num_requests

    def wait(self) -> float:
        return max(1.0, self.window_start + (self.duration or 0) - self.now)
