"""The Celery app (https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("assist")
app.config_from_object("django.conf:settings", namespace="CELERY")
# The tasks live in assist/live/tasks.py, not in an app's top-level `tasks` module where
# autodiscovery looks by default.
app.autodiscover_tasks(["assist.live"])
