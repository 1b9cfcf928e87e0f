"""Fault injection for the drills in tests/faults/ only: inert unless ASSIST_FAULT_DRILL is set.

Only those tests set it, on the worker processes they start. Its value is a comma-separated
list of `point:action`, where action is `sleep=SECONDS`, `crash` (the process exits at once,
as if killed) or `crash-once=PATH` (crash unless PATH exists, creating it first).
"""

import logging
import os
import time
from pathlib import Path

ENV = "ASSIST_FAULT_DRILL"

logger = logging.getLogger(__name__)


def fault_point(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    for entry in spec.split(","):
        point, _, action = entry.partition(":")
        if point != name:
            continue
        verb, _, arg = action.partition("=")
        logger.warning("fault drill: %s at %s", verb, point)  # the drill waits for this line
        if verb == "sleep":
            time.sleep(float(arg))
        elif verb == "crash" or (verb == "crash-once" and not Path(arg).exists()):
            if verb == "crash-once":
                Path(arg).touch()
            os._exit(70)
