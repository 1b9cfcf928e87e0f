"""Per-agent rate limits, shared by every process: the REST API's (assist/api/throttling.py) and
the WebSocket's (assist/live/consumers.py).

A fixed window per key, counted in the shared cache: Redis in production, so an agent's ten
sockets on three servers draw on one budget; this process's memory in embedded mode, where
there is one process. One atomic INCR an event: a read-modify-write history (DRF's own
throttle) lets parallel requests overwrite each other's entries (872 of 1,000 parallel requests
passed a limit of 600). A window starts at its first event and may let up to twice the limit
through across its edge; the limits are there to stop a runaway client, not to meter. Every
window ends: Django's INCR is two commands, and a counter that expires between them comes back
without an expiry, which would refuse that agent for good (it did, under a load of 200 agents);
incr_expiring gives such a counter its expiry; rate_count resets one found over the limit past
its window.
"""

import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)


def rate_count(key: str, *, period: int, limit: int) -> int | None:
    """Count one event under `key` in its window of `period` seconds; the events so far in the
    window, this one included. None if the cache is unreachable: the caller lets the event
    through (a down Redis already means degraded mode, and picks must still be stored)."""
    start_key = f"{key}:start"
    try:
        for _ in range(3):  # a window may end between two calls; the next one then begins
            try:
                # Most events find their window open, so the INCR comes first.
                count = incr_expiring(key, timeout=period)
            except ValueError:  # no window open
                # add is SET NX (atomic): of simultaneous first events, one opens the window,
                # with the window's length as expiry, and notes when it began.
                if cache.add(key, 1, timeout=period):
                    cache.set(start_key, time.time(), timeout=period)
                    return 1
                continue
            if count == 1:  # the window expired during the INCR: this event begins the next
                cache.set(start_key, time.time(), timeout=period)
            elif count > limit and _outlived(start_key, period):
                # A counter left without expiry (a process that died between the two calls
                # above, or a release before them) is a window that never closes: start anew.
                cache.set(key, 1, timeout=period)
                cache.set(start_key, time.time(), timeout=period)
                return 1
            return count
        return None
    except Exception:
        logger.warning("rate limit not checked: the cache is unreachable")
        return None


def incr_expiring(key: str, *, timeout: int) -> int:
    """INCR the counter under `key` (ValueError if there is none) and keep it expiring.

    Django's Redis cache INCRs with an EXISTS and then an INCR: a counter that expires between
    the two comes back from the INCR as a new one, 1, with no expiry, and would stay for good.
    This gives it `timeout`. Every counter in the shared cache goes through here: the rate
    limits above and the ranking's delivery count (assist/live/tasks.py)."""
    count = int(cache.incr(key))
    if count == 1:
        cache.touch(key, timeout=timeout)
    return count


def _outlived(start_key: str, period: int) -> bool:
    """Whether the window whose start is noted under `start_key` should have closed: its start
    is older than `period`, or gone (it expires with the window it notes)."""
    start = cache.get(start_key)
    return start is None or time.time() - float(start) > period


def rate_window_start(key: str) -> float | None:
    """When `key`'s current window began (time.time()), if the cache knows."""
    try:
        start = cache.get(f"{key}:start")
    except Exception:
        return None
    return float(start) if start is not None else None
