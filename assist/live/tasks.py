"""Celery tasks: adapters that take primary keys or plain data and call one service each.

Their names (`assist.tasks.*`) are what the broker, the routes in settings and
assist/live/dispatch.py know them by; they predate this module's place and stay, so that
messages queued by an older release still find their task.
"""

import logging
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.core.cache import cache

from assist.lifecycle.retraining import (
    NotEnoughData,
    RetrainOptions,
    RetrainRunning,
    ranker_retrain,
)
from assist.live import worker_signals  # noqa: F401  (connects the worker's signal handlers)
from assist.live.picks import PickRequest, pick_record
from assist.live.rankings import ranking_fail
from assist.live.suggestions import suggestion_create
from assist.ratelimit import incr_expiring
from assist.serving.model_cache import NoModel

logger = logging.getLogger(__name__)

# Longer than any redelivery takes, short enough that the counters do not pile up in Redis.
DELIVERY_COUNT_TTL_S = 24 * 3600


def _delivery_count(task: Task) -> int:
    """How many times this task message has been delivered, this delivery included.

    acks_late + reject_on_worker_lost put a message back when its worker process dies, so a
    message that kills the process every time would come back for ever; the count, in the cache
    all workers share, bounds that. If the cache is unreachable, count it as the first.
    The broker marks a message it puts back as redelivered, so a first delivery, nearly every
    one, costs no round trip: counting starts at the second.
    """
    if not (task.request.delivery_info or {}).get("redelivered"):
        return 1
    key = f"assist.deliveries.{task.request.id}"
    try:
        cache.add(key, 1, timeout=DELIVERY_COUNT_TTL_S)
        return incr_expiring(key, timeout=DELIVERY_COUNT_TTL_S)
    except Exception:
        logger.warning("delivery not counted: the cache is unreachable")
        return 1


@shared_task(bind=True, name="assist.tasks.rank", acks_late=True, reject_on_worker_lost=True)
def rank(self: Task, message_id: int) -> int | None:
    """Rank templates for a customer message (queue `inference`); idempotent per message."""
    deliveries = _delivery_count(self)
    if deliveries > settings.RANK_MAX_ATTEMPTS:
        ranking_fail(message_id=message_id, attempts=deliveries - 1)
        return None
    try:
        suggestion = suggestion_create(message_id=message_id)
    except NoModel as error:
        logger.warning("no suggestions: %s", error)
        return None
    return suggestion.pk if suggestion else None


@shared_task(name="assist.tasks.log_pick", acks_late=True, reject_on_worker_lost=True)
def log_pick(**request: Any) -> int:
    """Store a checked pick; the agent's panel gets its `ack` once the row is committed."""
    pick, _ = pick_record(request=PickRequest(**request))
    return pick.pk


# A training run takes minutes to hours, far beyond the global task time limits (None here
# would mean "the worker's default", which is those limits).
@shared_task(
    name="assist.tasks.retrain",
    soft_time_limit=settings.RETRAIN_TIME_LIMIT_S,
    time_limit=settings.RETRAIN_TIME_LIMIT_S + 60,
)
def retrain() -> int | None:
    """Scheduled retraining on queue `training` (never `inference`); registers a version.

    Not acks_late: a training run outlives the broker's visibility timeout, and a second
    worker must not start the same run; a run lost with its worker waits for the next beat.
    """
    try:
        version = ranker_retrain(
            options=RetrainOptions(
                freeze_encoder=settings.RETRAIN_FREEZE_ENCODER,
                promote_margin=settings.RETRAIN_PROMOTE_MARGIN,
            )
        )
    except (NotEnoughData, RetrainRunning) as error:
        logger.info("no retraining: %s", error)
        return None
    return version.pk
