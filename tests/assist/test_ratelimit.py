"""Every rate-limit window ends (assist/ratelimit.py): a counter that lost its expiry must not
refuse its agent for good. Django's INCR is an EXISTS and an INCR; a window that expires
between the two comes back as a counter with no expiry. These tests make that state directly
and count through it, in the shared cache the tests run with (Redis with REDIS_URL)."""

import time

from django.core.cache import cache

from assist.ratelimit import rate_count

KEY = "ratelimit:test:agent"


def test_a_window_counts_its_events_and_ends():
    assert [rate_count(KEY, period=1, limit=10) for _ in range(3)] == [1, 2, 3]
    time.sleep(1.5)
    assert rate_count(KEY, period=1, limit=10) == 1


def test_a_counter_recreated_without_expiry_gets_the_windows():
    # What the INCR leaves when the window expired just after the EXISTS: 1, no expiry.
    cache.set(KEY, 0, timeout=None)
    assert rate_count(KEY, period=1, limit=10) == 1
    time.sleep(1.5)
    assert cache.get(KEY) is None  # it expired with its window
    assert rate_count(KEY, period=1, limit=10) == 1


def test_a_counter_over_the_limit_past_its_window_starts_anew():
    # A counter left without expiry and far over the limit, its window's start long gone:
    # the next event opens a new window instead of being refused.
    cache.set(KEY, 500, timeout=None)
    assert rate_count(KEY, period=60, limit=10) == 1
    assert rate_count(KEY, period=60, limit=10) == 2


def test_a_counter_over_the_limit_within_its_window_keeps_counting():
    for _ in range(10):
        rate_count(KEY, period=60, limit=10)
    assert rate_count(KEY, period=60, limit=10) == 11  # refused by the caller, not reset
    assert rate_count(KEY, period=60, limit=10) == 12
