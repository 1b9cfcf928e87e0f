"""Celery tasks: adapters that take primary keys or plain data and call one service each."""

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init, worker_ready

from assist.events import conversation_group, send_now
from assist.health import start_heartbeat
from assist.inference import NoModel, active_model_version, load_ranker
from assist.services.picks import PickRequest, pick_record
from assist.services.suggestions import suggestion_create

logger = logging.getLogger(__name__)


@shared_task(name="assist.tasks.rank", acks_late=True, reject_on_worker_lost=True)
def rank(message_id: int) -> int | None:
    """Rank templates for a customer message (queue `inference`); idempotent per message."""
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


def suggestions_unavailable(conversation_id: int) -> None:
    send_now(
        conversation_group(conversation_id),
        {"type": "assist.status", "assist_available": False},
    )


@worker_process_init.connect
def load_model_at_start(**kwargs: Any) -> None:
    # Each pool process loads the model before the first message arrives, so that no agent
    # waits for it.
    try:
        load_ranker(active_model_version())
    except NoModel as error:
        logger.warning("worker started without a model: %s", error)
    except Exception:
        logger.exception("could not load the ranker at worker start")


@worker_ready.connect
def heartbeat_while_alive(**kwargs: Any) -> None:
    start_heartbeat()
