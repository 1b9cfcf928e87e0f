"""The Celery app of the fault drills' workers: the product's app plus test-only faults.

Only the workers that the drills start load it (`celery -A tests.faults.drill_app worker`);
production code has no fault points. Each pool process, as it starts, wraps the services that
the tasks call according to DRILL_FAULTS, a comma-separated list of `point:action`:

- points: `rank` (before the ranking service runs, after the task counted its delivery) and
  `log_pick.stored` (after the pick is stored, before the task returns and is acknowledged);
- actions: `sleep=SECONDS`, `crash` (the process exits at once, as if killed) or
  `crash-once=PATH` (crash unless PATH exists, creating it first).
"""

import functools
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from celery.signals import worker_process_init

from config.celery_app import app

__all__ = ["app"]

ENV = "DRILL_FAULTS"
logger = logging.getLogger("drill")


def _actions(point: str) -> list[str]:
    entries = [entry.partition(":") for entry in os.environ.get(ENV, "").split(",") if entry]
    return [action for name, _, action in entries if name == point]


def _fault(point: str) -> None:
    for action in _actions(point):
        verb, _, arg = action.partition("=")
        logger.warning("fault drill: %s at %s", verb, point)  # the drill waits for this line
        if verb == "sleep":
            time.sleep(float(arg))
        elif verb == "crash" or (verb == "crash-once" and not Path(arg).exists()):
            if verb == "crash-once":
                Path(arg).touch()
            os._exit(70)


def _before(point: str, service: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(service)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _fault(point)
        return service(*args, **kwargs)

    return wrapped


def _after(point: str, service: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(service)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = service(*args, **kwargs)
        _fault(point)
        return result

    return wrapped


@worker_process_init.connect
def install_faults(**kwargs: Any) -> None:
    from assist.live import tasks

    tasks.suggestion_create = _before("rank", tasks.suggestion_create)
    tasks.pick_record = _after("log_pick.stored", tasks.pick_record)
