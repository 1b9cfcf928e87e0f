"""Ranking a customer message and storing what the agent will be shown."""

import logging
import time
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Exists, OuterRef, Subquery

from assist.db import single_statement
from assist.events import conversation_group, send_event_on_commit
from assist.experiments import arm_model_version, suggestions_enabled
from assist.inference import active_model_version_pk, serving_ranker
from assist.models import Conversation, Message, ModelVersion, Suggestion
from assist.new_templates import rank_with_new_templates
from assist.reranking import external_config, external_rerank
from assist.selectors import suggestion_frame
from templates_app.active_catalog import active_catalog, catalog_version

logger = logging.getLogger(__name__)


def _newer_customer_message(message_pk: Any, conversation_pk: Any) -> Exists:
    """A newer customer message makes this one's ranking useless to the agent."""
    return Exists(
        Message.objects.filter(
            conversation_id=conversation_pk, role=Message.Role.CUSTOMER, pk__gt=message_pk
        )
    )


def suggestion_create(*, message_id: int) -> Suggestion | None:
    """Rank the templates for the conversation up to `message_id`, store and push the list.

    Idempotent (a redelivered task finds the stored list and pushes it again) and returns
    None, storing nothing, when the message is gone, a newer customer message exists, or the
    conversation is in an experiment's control arm.

    This is the worker's hot path: every query here is paid once per customer message, so the
    checks, the active model version and the catalog's version travel as annotations of the
    one query that reads the message (four queries a ranking in all; the query-budget test in
    tests/assist/test_api_live.py holds that).
    """
    message = (
        Message.objects.select_related(
            "conversation__assigned_agent", "conversation__experiment_arm__model_version"
        )
        .annotate(
            stale=_newer_customer_message(OuterRef("pk"), OuterRef("conversation_id")),
            ranked=Exists(Suggestion.objects.filter(message=OuterRef("pk"))),
            active_version_pk=active_model_version_pk(),
            catalog_version=catalog_version(),
        )
        .filter(pk=message_id)
        .first()
    )
    if message is None or message.stale or not suggestions_enabled(message.conversation):
        return None
    if not message.ranked:
        return _rank_and_store(message)
    existing = Suggestion.objects.select_related("model_version").get(message=message)
    existing.conversation = message.conversation  # with its agent, for the placeholders
    send_event_on_commit(
        conversation_group(message.conversation_id),
        {"type": "assist.suggestions", "frame": suggestion_frame(existing)},
    )
    return existing


def _rank_and_store(message: Message) -> Suggestion | None:
    conversation = message.conversation
    # One read for the context (the turns up to this message) and the templates already sent
    # (in any message: an agent may have replied while this one waited for a worker).
    rows = list(
        conversation.messages.order_by("sent_at", "id").values_list(
            "pk", "role", "text", "template__key"
        )
    )
    turns = [(role, text) for pk, role, text, _ in rows if pk <= message.pk]
    sent = {key for *_, key in rows if key is not None}
    version, ranker = serving_ranker(
        arm_model_version(conversation), active_pk=message.active_version_pk
    )
    catalog = active_catalog(message.catalog_version)
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
        message,
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
    message: Message, *, version: ModelVersion, items: list[dict[str, Any]], latency_ms: float
) -> Suggestion | None:
    """Store the list unless a newer customer message came in while ranking.

    No lock and no transaction (two round trips to the database, not five): the staleness
    check and the last sequence number are one read, and the unique (conversation, seq)
    constraint decides between two rankings of a conversation that read the same number: the
    loser reads again. A redelivered task that lost to its twin for the same message stores
    nothing (unique message), and the twin pushes the list.
    """
    conversation = message.conversation
    for _ in range(STORE_ATTEMPTS):
        stale, last = (
            Conversation.objects.filter(pk=conversation.pk)
            .annotate(
                stale=_newer_customer_message(message.pk, conversation.pk),
                last=Subquery(
                    Suggestion.objects.filter(conversation=OuterRef("pk"))
                    .order_by("-seq")
                    .values("seq")[:1]
                ),
            )
            .values_list("stale", "last")
            .get()
        )
        if stale:
            return None
        try:
            with single_statement():
                return Suggestion.objects.create(
                    conversation=conversation,
                    message=message,
                    seq=(last or 0) + 1,
                    model_version=version,
                    items=items,
                    latency_ms=latency_ms,
                )
        except IntegrityError:
            if Suggestion.objects.filter(message=message).exists():
                return None
    raise RuntimeError(f"no free sequence number after {STORE_ATTEMPTS} attempts")
