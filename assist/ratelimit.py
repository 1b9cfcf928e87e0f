"""Per-agent rate limits, shared by every process: the REST API's (assist/api/throttling.py) and
the WebSocket's (assist/live/consumers.py).

A fixed window per key, counted in the shared cache: Redis in production, so an agent's ten
sockets on three servers draw on one budget; this process's memory in embedded mode, where
there is one process. One atomic INCR an event: a read-modify-write history (DRF's own
throttle) lets parallel requests overwrite each other's entries (872 of 1,000 parallel requests
passed a limit of 600). A window starts at its first event and may let up to twice the limit
through across its edge; the limits are there to stop a runaway client, not to meter.
"""

import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)


def rate_count(key: str, *, period: int) -> int | None:
    """Count one event under `key` in its window of `period` seconds; the events so far in the
    window, this one included. None if the cache is unreachable: the caller lets the event
    through (a down Redis already means degraded mode, and picks must still be stored)."""
    try:
        for _ in range(3):  # a window may end between two calls; the next one then begins
            try:
                # Most events find their window open, so the INCR comes first: with Django's
                # Redis cache, an EXISTS and an INCR.
                return int(cache.incr(key))
            except ValueError:  # no window open
                # add is SET NX (atomic): of simultaneous first events, one starts the counter,
                # with the window's length as expiry, and notes when the window began.
                if cache.add(key, 0, timeout=period):
                    cache.set(f"{key}:start", time.time(), timeout=period)
        return None
    except Exception:
        logger.warning("rate limit not checked: the cache is unreachable")
        return None


def rate_window_start(key: str) -> float | None:
    """When `key`'s current window began (time.time()), if the cache knows."""
    try:
        start = cache.get(f"{key}:start")
    except Exception:
        return None
    return float(start) if start is not None else None
