"""How often a ranking message was delivered (assist/live/tasks.py): the count that stops a
message that kills its worker every time. Counted in the shared cache the tests run with
(Redis with REDIS_URL)."""

import time
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache import cache

from assist.live import tasks


def _delivery(task_id: str, *, redelivered: bool) -> SimpleNamespace:
    """What _delivery_count reads of a Celery task: its request's id and delivery info."""
    return SimpleNamespace(
        request=SimpleNamespace(id=task_id, delivery_info={"redelivered": redelivered})
    )


@pytest.fixture
def short_counts(monkeypatch):
    monkeypatch.setattr(tasks, "DELIVERY_COUNT_TTL_S", 1)


def test_a_first_delivery_is_one_and_redeliveries_count_on():
    task_id = str(uuid.uuid4())  # task ids are unique; the cache outlives a test
    assert tasks._delivery_count(_delivery(task_id, redelivered=False)) == 1
    assert tasks._delivery_count(_delivery(task_id, redelivered=True)) == 2
    assert tasks._delivery_count(_delivery(task_id, redelivered=True)) == 3


def test_a_counter_recreated_without_expiry_gets_one(short_counts):
    # What Django's INCR leaves when the counter expired between its EXISTS and its INCR: a
    # counter of 1 with no expiry.
    task_id = str(uuid.uuid4())
    key = f"assist.deliveries.{task_id}"
    cache.set(key, 0, timeout=None)
    assert tasks._delivery_count(_delivery(task_id, redelivered=True)) == 1
    time.sleep(1.5)
    assert cache.get(key) is None  # it expired, and does not stay in the cache for good
