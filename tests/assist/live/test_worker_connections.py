"""A worker keeps its database connection between tasks: Celery is told not to close it around
each task, and each task start applies Django's own rules instead (CONN_MAX_AGE, the health
check) — except for an eager task, whose connection belongs to the caller's request or
transaction. (Django's rules themselves are Django's; these tests need no database.)"""

import pytest
from celery.signals import task_prerun

from assist.live import tasks, worker_signals
from config.celery_app import app


@pytest.fixture
def connection_checks(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(worker_signals, "close_old_connections", lambda: calls.append("checked"))
    return calls


def _task_starts() -> None:
    task_prerun.send(sender=tasks.rank, task_id="t1", task=tasks.rank, args=(1,), kwargs={})


def test_celery_is_told_to_keep_connections():
    # Without it, Celery's Django fixup closes the connection before and after every task.
    assert app.conf.get("CELERY_DB_REUSE_MAX")


def test_each_task_start_applies_djangos_connection_rules(connection_checks):
    _task_starts()
    _task_starts()
    assert connection_checks == ["checked", "checked"]


def test_an_eager_task_leaves_the_callers_connection_alone(connection_checks):
    tasks.rank.push_request(is_eager=True)
    try:
        _task_starts()
    finally:
        tasks.rank.pop_request()
    assert connection_checks == []
