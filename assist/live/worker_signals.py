"""Celery worker signal handlers: the database connection between tasks, the model loaded
before the first message, the heartbeat that tells web processes a worker is alive.

Imported by assist/live/tasks.py, so that they are connected wherever the tasks are.
"""

import logging
from typing import Any

from celery import Task
from celery.signals import task_prerun, worker_process_init, worker_ready
from django.db import close_old_connections
from django.utils import timezone

from assist.languages import detect_language
from assist.lifecycle.pii import pii_analyzer_load
from assist.live.fields import find_date
from assist.live.heartbeat import start_heartbeat
from assist.serving.model_cache import NoModel, serving_ranker
from assist.serving.reranking import external_config
from assist.startup import startup_objects_frozen

logger = logging.getLogger(__name__)


@task_prerun.connect
def database_connection_check(sender: Task | None = None, **kwargs: Any) -> None:
    """Keep the worker's database connection between tasks unless it is expired or broken.

    What Django does at the start of each request (CONN_MAX_AGE, CONN_HEALTH_CHECKS); Celery's
    fixup no longer closes it every time (CELERY_DB_REUSE_MAX). Not for eager tasks: they run
    inside the caller's request or transaction, whose connection is not ours to close.
    """
    if sender is not None and not getattr(sender.request, "is_eager", False):
        close_old_connections()


@worker_process_init.connect
def load_model_at_start(**kwargs: Any) -> None:
    # Each pool process loads the model before the first message arrives, so that no agent
    # waits for it.
    try:
        serving_ranker()
    except NoModel as error:
        logger.warning("worker started without a model: %s", error)
    except Exception:
        logger.exception("could not load the ranker at worker start")
    try:
        # dateparser's first search loads its language data (over a second): paid here, not by
        # the first list whose template asks for a {date} (assist/live/fields.py).
        find_date("on 3 March", sent_at=timezone.now())
    except Exception:
        logger.exception("could not load the date parser at worker start")
    try:
        # The language identifier's models load on first use (seconds): paid here, not by the
        # first ranking, which detects the conversation's language (assist/languages.py).
        detect_language(["Where is my card? I ordered it two weeks ago."])
    except Exception:
        logger.exception("could not load the language identifier at worker start")
    if external_config() is not None:
        # The re-ranker's context is scrubbed first: the analyzer's load (seconds) is paid here,
        # not by the first ranking.
        try:
            pii_analyzer_load()
        except Exception:
            logger.exception("could not load the PII analyzer at worker start")
    startup_objects_frozen()  # after everything above: no full collection stalls a ranking


@worker_ready.connect
def heartbeat_while_alive(**kwargs: Any) -> None:
    start_heartbeat()
    startup_objects_frozen()  # the main process takes and acknowledges every task message
