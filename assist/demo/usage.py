"""Four weeks of assisted work on the demo conversations, for the review pages to show.

`seed_demo` imports the generator's conversations: every agent turn names the template it
sent, but nothing says how the agent got there. This module writes what the live service
would have stored on the way (docs/review-metrics.md): a suggestion list on the customer
message before each templated reply, the agent's picks from it (inserted, "not this one",
a whole list dismissed, a template found by search instead), the reply's rank in the list,
its selection time and how much of the template it kept.

The story: an experiment ran from four weeks ago to a week ago, half the conversations in a
control arm that got no suggestions; since it ended every conversation gets them. Suggested
templates are picked in a few seconds; without a list the agent takes three times as long.

Deterministic for a seed, and written once: the experiment's name marks the usage as there,
and everything is created in one transaction, in bulk.
"""

import datetime as dt
import itertools
import math
import random
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Subquery

from assist.models import (
    Conversation,
    Experiment,
    ExperimentArm,
    Message,
    ModelVersion,
    Pick,
    Suggestion,
)
from templates_app.models import ResponseTemplate

EXPERIMENT = "demo: suggestions against none"
MODEL_VERSION = "demo-ranker"
DAYS = 28
EXPERIMENT_ENDS_DAYS_AGO = 7
LIST_LENGTH = 5
# Templated replies come right after the customer's message, whose turn the import spaces by
# 20 s: a selection time stays below it so the timeline keeps its order.
MAX_SELECTION_MS = 19_000


REPLY_FIELDS = [
    "sent_at",
    "shown_suggestion",
    "shown_model_version",
    "shown_rank",
    "selection_ms",
    "edit_similarity",
]


@dataclass(frozen=True)
class UsageSummary:
    conversations: int
    lists: int
    picks: int


def _selection_ms(rng: random.Random, median_s: float) -> int:
    """Log-normal, as reaction times are: most quick, a long tail."""
    value = rng.lognormvariate(math.log(median_s * 1000), 0.45)
    return int(min(MAX_SELECTION_MS, max(1200, value)))


def _rank(rng: random.Random) -> int | None:
    """Where the template the agent sent stood in the list; None: not in it."""
    draw = rng.random()
    if draw < 0.58:
        return 1
    if draw < 0.78:
        return 2
    if draw < 0.88:
        return rng.randint(3, LIST_LENGTH)
    return None


def _edit_similarity(rng: random.Random) -> float:
    draw = rng.random()
    if draw < 0.65:
        return 1.0  # sent as inserted
    if draw < 0.95:
        return round(rng.uniform(0.6, 0.98), 4)  # a field filled, a sentence added
    return round(rng.uniform(0.2, 0.45), 4)  # rewritten: counts as the agent's own reply


@transaction.atomic
def write_usage(*, seed: int, now: dt.datetime) -> UsageSummary:
    """Suggestion lists, picks and reply measurements for the closed demo conversations of
    the last four weeks; nothing when the demo experiment is already there."""
    if Experiment.objects.filter(name=EXPERIMENT).exists():
        return UsageSummary(0, 0, 0)
    rng = random.Random(seed)
    start, ended = now - dt.timedelta(days=DAYS), now - dt.timedelta(days=EXPERIMENT_ENDS_DAYS_AGO)
    version, _ = ModelVersion.objects.get_or_create(
        name=MODEL_VERSION,
        defaults={"notes": "The ranker behind the demo's history; no artifact to load."},
    )
    experiment = Experiment.objects.create(
        name=EXPERIMENT,
        started_at=start,
        ended_at=ended,
        planned_conversations_per_arm=60,
        notes="Does a suggestion list make agents faster? Conversations split half and half.",
    )
    control = ExperimentArm.objects.create(experiment=experiment, name="control")
    ranker = ExperimentArm.objects.create(
        experiment=experiment, name="ranker", model_version=version
    )
    keys = dict(ResponseTemplate.objects.filter(is_active=True).values_list("pk", "key"))
    pks = {key: pk for pk, key in keys.items()}
    all_keys = sorted(pks)
    conversations = list(
        Conversation.objects.filter(
            status=Conversation.Status.CLOSED,
            started_at__gte=start,
            assigned_agent__isnull=False,
            suggestions__isnull=True,
        )
        .distinct()
        .order_by("pk")
    )
    by_conversation: dict[int, list[Message]] = defaultdict(list)
    for message in Message.objects.filter(conversation__in=conversations).order_by(
        "conversation_id", "sent_at", "pk"
    ):
        by_conversation[message.conversation_id].append(message)

    lists: list[Suggestion] = []
    picks: list[Pick] = []
    replies: list[Message] = []
    # Picks name their list, which has no key until it is saved: kept by list, tied after.
    picks_of: list[list[Pick]] = []
    for conversation in conversations:
        in_experiment = conversation.started_at < ended
        arm = None
        if in_experiment:
            arm = control if rng.random() < 0.5 else ranker
            conversation.experiment_arm = arm
        shows_lists = arm is not control  # the control arm alone goes without
        seq = 0
        agent_id = conversation.assigned_agent_id
        messages = by_conversation[conversation.pk]
        for previous, reply in itertools.pairwise(messages):
            if previous.role != Message.Role.CUSTOMER or reply.role != Message.Role.AGENT:
                continue
            client = f"demo-usage-{reply.pk}"
            if not shows_lists:
                if reply.template_id is not None:
                    reply.selection_ms = _selection_ms(rng, 11.0)
                    reply.sent_at = previous.sent_at + dt.timedelta(milliseconds=reply.selection_ms)
                    reply.edit_similarity = _edit_similarity(rng)
                    replies.append(reply)
                continue
            shown_at = previous.sent_at + dt.timedelta(milliseconds=rng.randint(250, 900))
            sent_key = keys.get(reply.template_id) if reply.template_id else None
            rank = _rank(rng) if sent_key else None
            others = [key for key in rng.sample(all_keys, LIST_LENGTH + 1) if key != sent_key]
            ranked = others[:LIST_LENGTH]
            if rank is not None and sent_key is not None:
                ranked[rank - 1] = sent_key
            items = [
                {
                    "key": key,
                    "probability": round(0.62 / (position + 1), 6),
                    "confident": position == 0,
                }
                for position, key in enumerate(ranked)
            ]
            suggestion = Suggestion(
                conversation=conversation,
                message=previous,
                seq=seq + 1,
                model_version=version,
                items=items,
                latency_ms=round(rng.uniform(18, 60), 1),
            )
            seq += 1
            lists.append(suggestion)
            on_list: list[Pick] = []
            picks_of.append(on_list)
            if sent_key is None:
                # The agent wrote their own reply: the list was dismissed, or just ignored.
                if rng.random() < 0.6:
                    on_list.append(
                        Pick(
                            conversation=conversation,
                            agent_id=agent_id,
                            action=Pick.Action.DISMISSED,
                            client_id=f"{client}-dismissed",
                            picked_at=shown_at + dt.timedelta(seconds=rng.uniform(1, 4)),
                        )
                    )
                continue
            median = 4.0 if rank is not None else 12.0
            reply.selection_ms = _selection_ms(rng, median)
            reply.sent_at = previous.sent_at + dt.timedelta(milliseconds=reply.selection_ms)
            reply.shown_suggestion = suggestion
            reply.shown_model_version = version
            reply.shown_rank = rank
            reply.edit_similarity = _edit_similarity(rng)
            replies.append(reply)
            picked_at = reply.sent_at - dt.timedelta(milliseconds=rng.randint(300, 1000))
            if rank is not None and rank > 1 and rng.random() < 0.3:
                on_list.append(
                    Pick(
                        conversation=conversation,
                        agent_id=agent_id,
                        template_id=pks[ranked[0]],
                        rank=1,
                        action=Pick.Action.REJECTED,
                        client_id=f"{client}-rejected",
                        picked_at=shown_at + dt.timedelta(milliseconds=600),
                    )
                )
            if rank is not None:
                suggestion.used = True
            on_list.append(
                Pick(
                    conversation=conversation,
                    agent_id=agent_id,
                    template_id=reply.template_id,
                    rank=rank,
                    action=Pick.Action.INSERTED,
                    client_id=f"{client}-inserted",
                    picked_at=max(picked_at, shown_at),
                    time_to_pick_ms=max(0, int((picked_at - shown_at).total_seconds() * 1000)),
                )
            )
    Conversation.objects.bulk_update(
        [c for c in conversations if c.experiment_arm_id is not None],
        ["experiment_arm"],
        batch_size=500,
    )
    Suggestion.objects.bulk_create(lists, batch_size=500)
    for suggestion, on_list in zip(lists, picks_of, strict=True):
        for pick in on_list:
            # A search pick (the template was not in the list) names no list.
            on_this_list = pick.rank is not None or pick.action == Pick.Action.DISMISSED
            pick.suggestion = suggestion if on_this_list else None
            picks.append(pick)
    Pick.objects.bulk_create(picks, batch_size=1000)
    for reply in replies:
        if reply.shown_suggestion is not None:
            reply.shown_suggestion_id = reply.shown_suggestion.pk
    Message.objects.bulk_update(
        replies,
        REPLY_FIELDS,
        batch_size=500,
    )
    # A list is shown just after the customer message it answers (created_at is set on save).
    Suggestion.objects.filter(model_version=version, conversation__in=conversations).update(
        created_at=Subquery(Message.objects.filter(pk=OuterRef("message_id")).values("sent_at")[:1])
    )
    return UsageSummary(len(conversations), len(lists), len(picks))
