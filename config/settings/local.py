"""Local development (`make run`): DEBUG on, a fixed insecure key, plain HTTP, the demo helpdesk.

The embedded defaults of base.py (SQLite, in-memory channel layer, in-process tasks) apply
unless DATABASE_URL / REDIS_URL are set.
"""

import os

from config.settings.base import *  # noqa: F403
from config.settings.base import env_bool, env_list

DEBUG = env_bool("DEBUG", True)
# Fixed, so that sessions survive restarts; visibly never for production.
SECRET_KEY = (
    os.environ.get("SECRET_KEY")
    or "django-insecure-local-development-only-never-use-this-key-in-production"
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
# Static files straight from the app folders, no `collectstatic`.
WHITENOISE_USE_FINDERS = True
DEMO_HELPDESK = env_bool("DEMO_HELPDESK", True)
