"""Ranking a customer message and storing what the agent will be shown."""

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection
from django.db.models import Model
from django.utils import timezone

from assist.db import as_inserted, db_value, single_statement
from assist.events import conversation_group, send_event_on_commit
from assist.experiments import arm_model_version, suggestions_enabled
from assist.inference import serving_ranker
from assist.models import Conversation, ExperimentArm, Message, ModelVersion, Suggestion
from assist.new_templates import rank_with_new_templates
from assist.reranking import external_config, external_rerank
from assist.selectors import suggestion_frame
from templates_app.active_catalog import CATALOG_VERSION_SQL, active_catalog

logger = logging.getLogger(__name__)

# The worker's hot path is three statements written by hand: the ORM's compiling and model
# building cost about 10 ms of Python a ranking here, a third of the model's own time, and
# every millisecond of it is paid once per customer message. Each statement runs as is on
# PostgreSQL (production, CI) and SQLite (the embedded default); the suite passes on either.

# Everything a ranking needs before the model runs: is the message stale (a newer customer
# message) or ranked already, the conversation with its agent (for the placeholders) and
# experiment arm, the active model version and the catalog's version (the process keeps both
# in memory while they do not move), and the last sequence number.
_JOB_SQL = f"""
SELECT
    m.conversation_id,
    EXISTS (SELECT 1 FROM assist_message n
            WHERE n.conversation_id = m.conversation_id AND n.role = %s AND n.id > m.id),
    EXISTS (SELECT 1 FROM assist_suggestion s WHERE s.message_id = m.id),
    (SELECT v.id FROM assist_modelversion v WHERE v.is_active LIMIT 1),
    {CATALOG_VERSION_SQL},
    (SELECT MAX(s.seq) FROM assist_suggestion s WHERE s.conversation_id = m.conversation_id),
    c.external_id, c.customer_name, c.assigned_agent_id, c.experiment_arm_id,
    u.username, u.first_name, u.last_name,
    a.model_version_id, mv.name, mv.path
FROM assist_message m
JOIN assist_conversation c ON c.id = m.conversation_id
LEFT JOIN auth_user u ON u.id = c.assigned_agent_id
LEFT JOIN assist_experimentarm a ON a.id = c.experiment_arm_id
LEFT JOIN assist_modelversion mv ON mv.id = a.model_version_id
WHERE m.id = %s
"""

# The turns of the conversation and the templates already sent in it.
_TURNS_SQL = """
SELECT m.id, m.role, m.text, t."key"
FROM assist_message m
LEFT JOIN templates_app_responsetemplate t ON t.id = m.template_id
WHERE m.conversation_id = %s
ORDER BY m.sent_at, m.id
"""

# The list, unless a newer customer message came in while the model ran: no row returned
# then. The unique (conversation, seq) and (message) constraints settle races.
_INSERT_SQL = """
INSERT INTO assist_suggestion
    (conversation_id, message_id, seq, model_version_id, items, latency_ms, used, created_at)
SELECT %s, %s, %s, %s, %s, %s, %s, %s
WHERE NOT EXISTS (SELECT 1 FROM assist_message n
                  WHERE n.conversation_id = %s AND n.role = %s AND n.id > %s)
RETURNING id
"""

_LAST_SEQ_SQL = "SELECT MAX(seq) FROM assist_suggestion WHERE conversation_id = %s"

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


def _loaded(model: type[Model], **values: Any) -> Any:
    """An instance of `model` as a query for these fields would make it (the rest deferred)."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


def _job_read(message_id: int) -> _Job | None:
    with connection.cursor() as cursor:
        cursor.execute(_JOB_SQL, [CUSTOMER, message_id])
        row = cursor.fetchone()
    if row is None:
        return None
    (conversation_id, stale, ranked, active_pk, catalog, last_seq, external_id, customer_name,
     agent_id, arm_id, username, first_name, last_name, arm_version_id, version_name,
     version_path) = row  # fmt: skip
    conversation = _loaded(
        Conversation,
        id=conversation_id,
        external_id=external_id,
        customer_name=customer_name,
        assigned_agent_id=agent_id,
        experiment_arm_id=arm_id,
    )
    conversation.assigned_agent = None
    if agent_id is not None:
        conversation.assigned_agent = _loaded(
            User, id=agent_id, username=username, first_name=first_name, last_name=last_name
        )
    arm = None
    if arm_id is not None:
        arm = _loaded(ExperimentArm, id=arm_id, model_version_id=arm_version_id)
        arm.model_version = None
        if arm_version_id is not None:
            arm.model_version = _loaded(
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
    query-budget test in tests/assist/test_api_live.py holds that).
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
    conversation = job.conversation
    with connection.cursor() as cursor:
        cursor.execute(_TURNS_SQL, [conversation.pk])
        rows = cursor.fetchall()
    # The context is the turns up to this message; the templates already sent are those of any
    # message (an agent may have replied while this one waited for a worker).
    turns = [(role, text) for pk, role, text, _ in rows if pk <= job.message_id]
    sent = {key for *_, key in rows if key is not None}
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
    if settings.SUGGEST_NEW_TEMPLATES and new_keys:
        ranked_all = ranker.rank([context], k=len(ranker.labels), allowed=allowed, exclude=exclude)
        ranked = rank_with_new_templates(
            ranker, context, ranked_all[0], new_keys, templates=catalog.templates, k=k
        )
    else:
        ranked = ranker.rank([context], k=k, allowed=allowed, exclude=exclude)[0]
    if external is not None:
        ranked = external_rerank(external, context, ranked)
    ranked = ranked[: settings.SUGGESTION_K]
    latency_ms = (time.perf_counter() - started) * 1000
    suggestion = _store(
        job,
        version=version,
        items=[
            {"key": key, "probability": round(p, 6), "confident": p >= ranker.threshold}
            for key, p in ranked
        ],
        latency_ms=latency_ms,
    )
    if suggestion is not None:
        send_event_on_commit(
            conversation_group(conversation.pk),
            {
                "type": "assist.suggestions",
                "frame": suggestion_frame(suggestion, sent=sent, templates=catalog.templates),
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
                    _INSERT_SQL,
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
                cursor.execute(_LAST_SEQ_SQL, [conversation.pk])
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
