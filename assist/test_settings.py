"""Settings for the test suite: production settings with a throwaway key and plain HTTP.

DATABASE_URL and REDIS_URL still come from the environment, so `.ci/run` tests against
PostgreSQL and Redis while a bare `pytest` on a laptop uses SQLite.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from assist.settings import *  # noqa: F403

# Hashing demo and factory passwords with the production hasher costs seconds per test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
