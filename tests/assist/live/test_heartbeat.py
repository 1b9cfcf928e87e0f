"""Is inference available: the workers' heartbeat, as a web process reads it."""

import pytest
from django.core.cache import cache

from assist.live import heartbeat


@pytest.fixture
def broker_mode(settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # not embedded: real workers would beat
    cache.delete(heartbeat.HEARTBEAT_KEY)
    yield
    cache.delete(heartbeat.HEARTBEAT_KEY)


def test_no_beat_means_unavailable_and_a_beat_is_seen_at_once(broker_mode):
    assert not heartbeat.inference_available()
    heartbeat.beat()
    assert heartbeat.inference_available()


def test_a_seen_beat_is_trusted_for_a_second_then_read_again(broker_mode, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(heartbeat.time, "monotonic", lambda: now[0])
    heartbeat.beat()
    assert heartbeat.inference_available()
    cache.delete(heartbeat.HEARTBEAT_KEY)  # the workers are gone

    now[0] += heartbeat.SEEN_ALIVE_FOR_S - 0.01
    assert heartbeat.inference_available()  # not read again yet
    now[0] += 0.02
    assert not heartbeat.inference_available()


def test_an_unreachable_cache_means_unavailable(broker_mode, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("no Redis")

    monkeypatch.setattr(heartbeat.cache, "get", unreachable)
    assert not heartbeat.inference_available()
