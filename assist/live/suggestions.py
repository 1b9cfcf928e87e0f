"""Ranking a customer message and storing what the agent will be shown."""

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection
from django.utils import timezone

from assist.languages import OVERRIDES, detect_language
from assist.lifecycle.pii import conversation_names
from assist.live import sql
from assist.live.events import conversation_group, send_event_on_commit
from assist.live.languages import conversation_language_detected
from assist.live.selectors import suggestion_frame
from assist.live.sql import as_inserted, db_value, single_statement
from assist.models import Conversation, ExperimentArm, Message, ModelVersion, Suggestion
from assist.review.experiments import arm_model_version, suggestions_enabled
from assist.serving.catalog import active_catalog
from assist.serving.model_cache import serving_ranker
from assist.serving.new_templates import rank_with_new_templates
from assist.serving.reranking import external_config, external_rerank

logger = logging.getLogger(__name__)

CUSTOMER = Message.Role.CUSTOMER.value


@dataclass(frozen=True)
class _Job:
    message_id: int
    conversation: Conversation  # with its agent and experiment arm (only what is used)
    stale: bool
    ranked: bool
    active_version_pk: int | None
    catalog_version: int | None
    last_seq: int


def _job_read(message_id: int) -> _Job | None:
    with connection.cursor() as cursor:
        cursor.execute(sql.JOB, [CUSTOMER, message_id])
        row = cursor.fetchone()
    if row is None:
        return None
    (conversation_id, stale, ranked, active_pk, catalog, last_seq, external_id, customer_name,
     agent_id, arm_id, language, language_source, username, first_name, last_name,
     arm_version_id, version_name, version_path) = row  # fmt: skip
    conversation = sql.from_db(
        Conversation,
        id=conversation_id,
        external_id=external_id,
        customer_name=customer_name,
        assigned_agent_id=agent_id,
        experiment_arm_id=arm_id,
        language=language,
        language_source=language_source,
    )
    conversation.assigned_agent = None
    if agent_id is not None:
        conversation.assigned_agent = sql.from_db(
            User, id=agent_id, username=username, first_name=first_name, last_name=last_name
        )
    arm = None
    if arm_id is not None:
        arm = sql.from_db(ExperimentArm, id=arm_id, model_version_id=arm_version_id)
        arm.model_version = None
        if arm_version_id is not None:
            arm.model_version = sql.from_db(
                ModelVersion, id=arm_version_id, name=version_name, path=version_path
            )
    conversation.experiment_arm = arm
    return _Job(
        message_id=message_id,
        conversation=conversation,
        stale=bool(stale),
        ranked=bool(ranked),
        active_version_pk=active_pk,
        catalog_version=catalog,
        last_seq=last_seq or 0,
    )


def suggestion_create(*, message_id: int) -> Suggestion | None:
    """Rank the templates for the conversation up to `message_id`, store and push the list.

    Idempotent (a redelivered task finds the stored list and pushes it again) and returns
    None, storing nothing, when the message is gone, a newer customer message exists, or the
    conversation is in an experiment's control arm. Three statements a ranking (the
    query-budget test in tests/assist/api/test_api_live.py holds that).
    """
    job = _job_read(message_id)
    if job is None or job.stale or not suggestions_enabled(job.conversation):
        return None
    if not job.ranked:
        return _rank_and_store(job)
    existing = Suggestion.objects.select_related("model_version").get(message_id=message_id)
    existing.conversation = job.conversation  # read already, with its agent, for the placeholders
    send_event_on_commit(
        conversation_group(job.conversation.pk),
        {"type": "assist.suggestions", "frame": suggestion_frame(existing)},
    )
    return existing


def _rank_and_store(job: _Job) -> Suggestion | None:
    from ranker.calibration import confident_flags  # the worker's import: numpy and scipy

    conversation = job.conversation
    with connection.cursor() as cursor:
        cursor.execute(sql.TURNS, [conversation.pk])
        rows = cursor.fetchall()
    # The context is the turns up to this message; the templates already sent are those of any
    # message (an agent may have replied while this one waited for a worker).
    turns = [(role, text) for pk, role, text, *_ in rows if pk <= job.message_id]
    # What the customer typed, newest first, for the placeholders it fills (rendering.py).
    typed = [(pk, text, at) for pk, role, text, at, _ in reversed(rows) if role == CUSTOMER]
    sent = {key for *_, key in rows if key is not None}
    # The conversation's language from the customer's messages so far, before the list is
    # rendered in it (assist/languages.py); a statement only when it changes.
    if conversation.language_source not in OVERRIDES:
        detected = detect_language([text for role, text in turns if role == CUSTOMER])
        if detected is not None:
            conversation_language_detected(conversation=conversation, language=detected)
    version, ranker = serving_ranker(
        arm_model_version(conversation), active_pk=job.active_version_pk
    )
    catalog = active_catalog(job.catalog_version)
    started = time.perf_counter()
    context = ranker.build_context(turns)
    external = external_config()
    # The external re-ranker, when configured, sees the top-M, which may be more than K.
    k = max(settings.SUGGESTION_K, external.top_m if external else 0)
    allowed = catalog.keys
    exclude = [sent] if settings.SUGGEST_EXCLUDE_SENT else None
    new_keys = [  # active templates that the model has no output for
        key for key in allowed if key not in ranker.label_index and not (exclude and key in sent)
    ]
    # The classifier's calibrated probabilities over all its labels, not renormalised over the
    # templates that may be shown: what the confidence threshold was fitted on, and what the
    # panel shows (hiding a template makes no other one surer).
    (classifier,) = ranker.rank(
        [context], k=len(ranker.labels), allowed=allowed, exclude=exclude, renormalise=False
    )
    if settings.SUGGEST_NEW_TEMPLATES and new_keys:
        ranked = rank_with_new_templates(
            ranker, context, classifier, new_keys, templates=catalog.templates, k=k
        )
    else:
        ranked = classifier[:k]
    if external is not None:
        ranked = external_rerank(
            external, context, ranked, known_names=conversation_names(conversation)
        )
    ranked = ranked[: settings.SUGGESTION_K]
    # "confident" is the event the threshold was fitted on, whatever the blend or the
    # re-ranker did to the list (ranker/calibration.py: confident_flags).
    confident = confident_flags(ranked, classifier, ranker.threshold)
    latency_ms = (time.perf_counter() - started) * 1000
    suggestion = _store(
        job,
        version=version,
        items=[
            {"key": key, "probability": round(p, 6), "confident": flag}
            for (key, p), flag in zip(ranked, confident, strict=True)
        ],
        latency_ms=latency_ms,
    )
    if suggestion is not None:
        send_event_on_commit(
            conversation_group(conversation.pk),
            {
                "type": "assist.suggestions",
                "frame": suggestion_frame(
                    suggestion,
                    sent=sent,
                    templates=catalog.templates,
                    variants=catalog.variants,
                    customer_messages=typed,
                ),
            },
        )
    return suggestion


# Concurrent rankings of one conversation that race for the same sequence number: each lost
# race means another list was stored meanwhile, so a few attempts always suffice.
STORE_ATTEMPTS = 5


def _store(
    job: _Job, *, version: ModelVersion, items: list[dict[str, Any]], latency_ms: float
) -> Suggestion | None:
    """Store the list unless a newer customer message came in while ranking.

    No lock and no transaction: one INSERT whose condition is the staleness check, taking the
    sequence number after the last one the job read. Two rankings of a conversation that read
    the same number: the unique (conversation, seq) constraint refuses the second, which reads
    the last number again. A redelivered task that lost to its twin for the same message
    stores nothing (unique message), and the twin pushes the list.
    """
    conversation = job.conversation
    created_at = timezone.now()
    seq = job.last_seq + 1
    for _ in range(STORE_ATTEMPTS):
        try:
            with single_statement(), connection.cursor() as cursor:
                cursor.execute(
                    sql.SUGGESTION_INSERT,
                    [
                        conversation.pk, job.message_id, seq, version.pk,
                        db_value(Suggestion, "items", items), latency_ms, False,
                        db_value(Suggestion, "created_at", created_at),
                        conversation.pk, CUSTOMER, job.message_id,
                    ],
                )  # fmt: skip
                row = cursor.fetchone()
        except IntegrityError:
            if Suggestion.objects.filter(message_id=job.message_id).exists():
                return None
            with connection.cursor() as cursor:
                cursor.execute(sql.LAST_SEQ, [conversation.pk])
                seq = (cursor.fetchone()[0] or 0) + 1
            continue
        if row is None:
            return None  # stale
        stored = Suggestion(
            conversation=conversation,
            message_id=job.message_id,
            seq=seq,
            model_version=version,
            items=items,
            latency_ms=latency_ms,
            used=False,
            created_at=created_at,
        )
        return as_inserted(stored, row[0])
    raise RuntimeError(f"no free sequence number after {STORE_ATTEMPTS} attempts")
