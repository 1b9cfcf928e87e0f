"""Locks that one process of the whole deployment holds at a time, in the database.

On PostgreSQL a session advisory lock (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS):
every host already shares the database, and the server releases the lock when the session
ends, so a process that dies holding it (a killed training worker) leaves nothing to clean up.
SQLite is one machine's database: a file lock beside it does the same for that machine's
processes, and the kernel releases it with the process.
"""

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection


def _key(name: str) -> int:
    # A signed 64-bit integer: what pg_advisory_lock takes.
    return int.from_bytes(
        hashlib.sha256(f"assist.{name}".encode()).digest()[:8], "big", signed=True
    )


@contextmanager
def deployment_lock(name: str, *, wait: bool) -> Iterator[bool]:
    """Hold the lock `name` for the block; yields whether it is held.

    `wait=False` yields False at once when another process holds it, and the block decides what
    to do without it; `wait=True` blocks until it is free and always yields True.
    """
    if connection.vendor == "postgresql":
        key = _key(name)
        with connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_lock(%s)", [key])
                held = True
            else:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                held = bool(cursor.fetchone()[0])
        try:
            yield held
        finally:
            if held:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    folder = Path(settings.BASE_DIR) / "var" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            held = True
        except BlockingIOError:
            held = False
        try:
            yield held
        finally:
            if held:
                fcntl.flock(handle, fcntl.LOCK_UN)
