"""The Celery app (https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html)."""

import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("assist")
app.config_from_object("django.conf:settings", namespace="CELERY")
# The tasks live in assist/live/tasks.py, not in an app's top-level `tasks` module where
# autodiscovery looks by default.
app.autodiscover_tasks(["assist.live"])
if getattr(settings, "CELERY_REDBEAT_REDIS_URL", ""):
    # RedBeat (the beat scheduler with REDIS_URL, config/settings/base.py) reads the settings
    # above by their prefixed names, but checks for its Redis URL and options under the bare
    # ones and warns at every start if it does not find them there.
    app.conf.update(
        redbeat_redis_url=settings.CELERY_REDBEAT_REDIS_URL,
        redbeat_redis_options={},
    )
