"""assist/startup.py: what a process has loaded by the time it serves is no longer walked by
the garbage collector, and what it creates later still is."""

import gc
import weakref

import pytest

from assist.startup import startup_objects_frozen


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_startup_objects_are_frozen_and_later_garbage_is_collected(unfrozen):
    kept = [Node() for _ in range(1000)]
    startup_objects_frozen()
    assert gc.get_freeze_count() >= len(kept)
    later = Node()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None
