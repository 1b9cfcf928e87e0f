"""Is live inference available? Workers say so with a heartbeat in the shared cache.

Web processes read it to tell panels when suggestions are unavailable (degraded mode) and to
store picks directly instead of queueing them for a worker that is not there.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache

from assist.serving.state import STATE

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "assist.inference.heartbeat"
HEARTBEAT_EVERY_S = 5
# Three missed beats and the workers count as gone.
HEARTBEAT_TTL_S = 3 * HEARTBEAT_EVERY_S


# A web process asks for every customer message; a beat it has seen is trusted this long, so
# that a busy server reads the key about once a second instead of once a message. Workers that
# die show as unavailable at most this much later than their beat's TTL says.
SEEN_ALIVE_FOR_S = 1.0


def inference_available() -> bool:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return True  # embedded mode: tasks run in this very process
    if time.monotonic() < STATE.heartbeat_seen_until:
        return True
    try:
        alive = cache.get(HEARTBEAT_KEY) is not None
    except Exception:
        # The cache is Redis, which is also the broker: unreachable means unavailable.
        return False
    if alive:
        STATE.heartbeat_seen_until = time.monotonic() + SEEN_ALIVE_FOR_S
    return alive


def beat() -> None:
    try:
        cache.set(HEARTBEAT_KEY, time.time(), timeout=HEARTBEAT_TTL_S)
    except Exception:
        logger.warning("heartbeat not written: the cache is unreachable")


def start_heartbeat() -> threading.Thread:
    """Beat from a daemon thread of this (worker) process for as long as it lives."""

    def loop() -> None:
        while True:
            beat()
            time.sleep(HEARTBEAT_EVERY_S)

    thread = threading.Thread(target=loop, name="assist-heartbeat", daemon=True)
    thread.start()
    return thread
