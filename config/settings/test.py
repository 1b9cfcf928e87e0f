"""Settings for the test suite: production settings with a throwaway key and plain HTTP.

DATABASE_URL and REDIS_URL still come from the environment, so `.ci/run` tests against
PostgreSQL and Redis while a bare `pytest` on a laptop uses SQLite.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from config.settings.production import *  # noqa: F403

# Hashing demo and factory passwords with the production hasher costs seconds per test. The
# production one stays available for users that server processes started by a test log in as.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# In-process tests run in embedded mode (in-memory layer, tasks run in-process at commit), so
# they are independent of each other and of any worker. The worker path is tested by starting
# real server and Celery worker processes on Redis (tests/test_live_loop.py), which get the
# real settings through the environment.
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
# A file, not memory, so that server and worker processes started by a test share the test
# database on SQLite too.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test.sqlite3")}  # noqa: F405
