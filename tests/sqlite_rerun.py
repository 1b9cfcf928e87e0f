"""Running a test file again on SQLite (the embedded mode) when the suite runs on PostgreSQL:
for code with a vendor-specific path on each side, such as catalog search."""

import os
import subprocess
import sys

import pytest
from django.db import connection

from devtools.processes import ROOT


def assert_passes_on_sqlite(test_file: str) -> None:
    """`test_file`'s fast tests pass in a fresh pytest on SQLite (no DATABASE_URL, no Redis);
    skipped when the suite itself runs on SQLite."""
    if connection.vendor == "sqlite":
        pytest.skip("the suite itself runs on SQLite")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow",
         test_file],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
