"""Database helpers the write services share."""

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.db import connection, models, transaction


def single_statement() -> AbstractContextManager[Any]:
    """Around one INSERT whose IntegrityError the caller handles (a duplicate, a lost race).

    A savepoint when a transaction is already open (a request's, a test's, eager mode), so
    that the failed statement does not break it; nothing in autocommit mode (the workers, the
    WebSocket consumer), where one statement is atomic by itself and `transaction.atomic()`
    would add BEGIN and COMMIT: two more round trips on the live loop's hot path.
    """
    return transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext()


def db_value(model: type[models.Model], field: str, value: Any) -> Any:
    """`value` as the ORM would send it for `model.field` in a hand-written statement (JSON,
    time zones: SQLite stores datetimes as text)."""
    return model._meta.get_field(field).get_db_prep_save(value, connection)


def as_inserted(instance: Any, pk: int) -> Any:
    """`instance`, built from the values a hand-written INSERT stored, with the row's key and
    marked as stored, as if the ORM had read it back (a later save() updates that row)."""
    instance.pk = pk
    instance._state.adding, instance._state.db = False, connection.alias
    return instance
