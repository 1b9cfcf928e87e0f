"""A worker keeps its database connection between tasks, but never an expired one, and never
touches the connection of an eager task (it belongs to the caller's request or transaction)."""

import time

import pytest
from celery.signals import task_prerun
from django.db import connection

from assist.celery import app
from assist.tasks import rank


def _task_starts() -> None:
    task_prerun.send(sender=rank, task_id="t1", task=rank, args=(1,), kwargs={})


@pytest.fixture
def open_connection():
    connection.ensure_connection()
    yield connection.connection
    connection.close_at = None


def test_celery_is_told_to_keep_connections():
    # Without it, Celery's Django fixup closes the connection around every task.
    assert app.conf.get("CELERY_DB_REUSE_MAX")


@pytest.mark.django_db(transaction=True)
def test_a_live_connection_is_kept_for_the_next_task(open_connection):
    connection.close_at = time.monotonic() + 60  # CONN_MAX_AGE not reached
    _task_starts()
    assert connection.connection is open_connection


@pytest.mark.django_db(transaction=True)
def test_an_expired_connection_is_closed_before_the_task(open_connection):
    connection.close_at = time.monotonic() - 1  # CONN_MAX_AGE passed
    _task_starts()
    assert connection.connection is None


@pytest.mark.django_db(transaction=True)
def test_an_eager_task_leaves_the_callers_connection_alone(open_connection):
    connection.close_at = time.monotonic() - 1
    rank.push_request(is_eager=True)
    try:
        _task_starts()
    finally:
        rank.pop_request()
    assert connection.connection is open_connection
