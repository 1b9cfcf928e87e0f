"""Queueing Celery tasks by name: the one way services enqueue work.

Tasks are adapters that call services (assist/live/tasks.py), so a service that imported a
task would close an import circle. Services call `enqueue` with a task's name instead; the
names are the routes in config/settings/base.py (CELERY_TASK_ROUTES). Call it after the
transaction commits (transaction.on_commit), so that a worker finds the rows it is sent.
"""

from typing import Any

from config.celery_app import app

RANK = "assist.tasks.rank"
LOG_PICK = "assist.tasks.log_pick"
RETRAIN = "assist.tasks.retrain"


def enqueue(name: str, **kwargs: Any) -> None:
    """Publish task `name` with `kwargs`; broker errors (kombu OperationalError, OSError)
    reach the caller, which decides what the user loses.

    In the embedded mode (no broker, `task_always_eager`) the task runs here and now, as
    `apply_async` does for an eager app; `send_task` would not run it at all.
    """
    if app.conf.task_always_eager:
        app.loader.import_default_modules()  # registers the tasks (autodiscovery)
        app.tasks[name].apply_async(kwargs=kwargs)
    else:
        app.send_task(name, kwargs=kwargs)
