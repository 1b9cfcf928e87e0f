"""Replaying recorded conversations through the live path as a simulated agent, into an
experiment: what suggestions would save, and which of two model versions saves more, before
any real agent is asked to try them (`manage.py replay`, bench/replay_bench.py).

Every write goes through the services the WebSocket consumer calls: the customer's messages
(`message_ingest`, which queues the ranking: a Celery worker, or in-process in the embedded
mode), the lists the rankings store, the agent's picks (`pick_validate`, `pick_submit`) and the
replies with their template. The conversation's experiment arm is assigned as for any new
conversation, so the control arm gets no lists at all.

The agent is simulated, and so is its time. Where the recording has free text it sends that
text; where it has a template it picks that template and sends it as the panel inserts it, the
reply carrying its pick. It picks from the list on screen when the template is there (a selection
time that grows with its rank), otherwise by searching the catalog (longer, and longer still
when it read a list in vain). `AgentTimeModel` holds the time model. The services read the time
through `django.utils.timezone.now`; while a conversation is replayed that function returns
the simulated clock, so the reply's stored selection time (from the customer's message to the
reply, assist/live/messages.py) is the simulated agent's, measured the way the product
measures a real one. Only this process's clock is simulated: a worker stamps its lists with
the real time.

Replaying again with the same experiment and seed stores nothing new: the conversations'
external ids, the messages' and the picks' client ids are derived from them, and every write
is idempotent by those ids (an interrupted run is completed, a complete conversation skipped).
"""

import datetime as dt
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from assist.errors import InvalidInput
from assist.live.messages import CUSTOMER_LINK, conversation_open, message_ingest
from assist.live.picks import PICK_WORKER_GRACE_S, pick_store_if_waiting, pick_submit, pick_validate
from assist.live.rendering import template_render
from assist.models import (
    Conversation,
    Experiment,
    ExperimentArm,
    Message,
    ModelVersion,
    Pick,
    Suggestion,
)
from ranker.data import Conversation as RecordedConversation
from ranker.data import Turn
from templates_app.models import ResponseTemplate

logger = logging.getLogger(__name__)

CHANNEL = "replay"
CONTROL = "control"


@dataclass(frozen=True)
class AgentTimeModel:
    """How long the simulated agent takes. A model, not a measurement: no agent was timed for
    these constants. They are set so that an agent without suggestions needs about the paper's
    19 s per template (Wyatte et al. 2024 report 19 s without suggestions, 13 s with), and so
    that a suggestion costs more the further down the list it is. Replay figures therefore
    measure the models' ranks through this model; their absolute seconds are the model's.
    """

    # The template on the list at rank r: reading the list down to it and choosing it.
    first_rank_s: float = 3.0
    per_rank_s: float = 1.5
    # The template not on the list shown: reading the whole list in vain, then searching.
    list_miss_s: float = 5.0
    # Searching the catalog for the template (no list, or the template not on it).
    search_s: float = 17.0
    # Multiplicative log-normal noise, per reply and per conversation (the agent's pace and
    # the topic are shared by the replies of a conversation: why review analyses per
    # conversation, not per reply).
    reply_sigma: float = 0.35
    conversation_sigma: float = 0.25
    # Not selection times, only the simulated clock's advance: a reply written by hand, and
    # the customer's next message.
    typing_s: float = 30.0
    customer_s: float = 20.0

    def selection_s(
        self, *, rank: int | None, list_shown: bool, pace: float, rng: random.Random
    ) -> float:
        """Seconds from the customer's message to the reply, for a templated reply."""
        if rank is not None:
            base = self.first_rank_s + self.per_rank_s * (rank - 1)
        elif list_shown:
            base = self.list_miss_s + self.search_s
        else:
            base = self.search_s
        return base * pace * rng.lognormvariate(0.0, self.reply_sigma)

    def conversation_pace(self, rng: random.Random) -> float:
        return rng.lognormvariate(0.0, self.conversation_sigma)


@dataclass
class ReplayCounts:
    conversations: int = 0  # replayed (or completed) by this run
    skipped: int = 0  # complete already: replayed before with this experiment and seed
    customer_messages: int = 0
    replies_with_list: int = 0  # templated replies with a list on screen (model arms)
    lists_missing: int = 0  # customer messages of a model arm whose list never came
    templated_replies: int = 0
    picks_from_list: int = 0
    search_picks: int = 0
    free_text_replies: int = 0


class SimulatedClock:
    """The simulated agent's clock: it moves only when the agent or the customer takes time."""

    def __init__(self, real_now: Callable[[], dt.datetime]) -> None:
        self._real_now = real_now
        self._now = real_now()

    def now(self) -> dt.datetime:
        return self._now

    def restart(self) -> None:
        """Back to the real time: each conversation starts when its replay does."""
        self._now = self._real_now()

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)


@contextmanager
def simulated_clock() -> Iterator[SimulatedClock]:
    """`django.utils.timezone.now`, which every service reads the time from, returns the
    simulated clock inside the block (this process only)."""
    clock = SimulatedClock(timezone.now)
    with mock.patch("django.utils.timezone.now", clock.now):
        yield clock


def replay_experiment(
    *, name: str, versions: Sequence[ModelVersion], planned: int | None
) -> Experiment:
    """The experiment `name` with a control arm and one arm per version, made if new.

    An existing one must have exactly those arms (a replay adds to its own experiment only).
    Refused while another experiment is active: new conversations would go to that one.
    """
    if len(versions) < 1 or len({v.pk for v in versions}) != len(versions):
        raise InvalidInput("give one or more distinct model versions")
    active = Experiment.objects.filter(is_active=True).exclude(name=name).first()
    if active is not None:
        raise InvalidInput(f"experiment {active.name!r} is active; end it before a replay")
    with transaction.atomic():
        experiment, created = Experiment.objects.get_or_create(
            name=name,
            defaults={
                "planned_conversations_per_arm": planned,
                "notes": "Replayed conversations, simulated agent (assist/review/replay.py).",
            },
        )
        if created:
            ExperimentArm.objects.create(experiment=experiment, name=CONTROL, model_version=None)
            for version in versions:
                ExperimentArm.objects.create(
                    experiment=experiment, name=version.name[:50], model_version=version
                )
    arms = {arm.model_version_id for arm in experiment.arms.all()}
    if arms != {None, *(v.pk for v in versions)}:
        raise InvalidInput(
            f"experiment {name!r} exists with other arms: replay into a new experiment"
        )
    return experiment


def validate_conversations(conversations: Sequence[RecordedConversation]) -> None:
    """Refuse, before anything is stored, conversations the replay cannot send: an unknown
    role, an empty text, a template the catalog does not have (or has deactivated)."""
    keys = {t.template for c in conversations for t in c.turns if t.template is not None}
    active = set(
        ResponseTemplate.objects.filter(key__in=keys, is_active=True).values_list("key", flat=True)
    )
    for conversation in conversations:
        for i, turn in enumerate(conversation.turns):
            where = f"conversation {conversation.id!r}, turn {i + 1}"
            if turn.role not in (Message.Role.CUSTOMER, Message.Role.AGENT):
                raise InvalidInput(f"{where}: role must be 'customer' or 'agent'")
            if not turn.text.strip():
                raise InvalidInput(f"{where}: empty text")
            if turn.template is not None and turn.role != Message.Role.AGENT:
                raise InvalidInput(f"{where}: only agent turns name a template")
    missing = sorted(keys - active)
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise InvalidInput(f"{len(missing)} templates are not active in the catalog: {shown}")


class Replay:
    """One run: conversations into `experiment`'s arms, as `agent`, with the time model."""

    def __init__(
        self,
        *,
        experiment: Experiment,
        agent: User,
        seed: int,
        time_model: AgentTimeModel = AgentTimeModel(),
        list_timeout_s: float = 60.0,
    ) -> None:
        self.experiment = experiment
        self.agent = agent
        self.seed = seed
        self.time_model = time_model
        self.list_timeout_s = list_timeout_s
        self.counts = ReplayCounts()

    def run(
        self,
        conversations: Sequence[RecordedConversation],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> ReplayCounts:
        """Replay `conversations` (validated first: a bad one stores nothing). The experiment is
        active while they are opened and ended after, so no other conversation joins it."""
        validate_conversations(conversations)
        experiment = self.experiment
        Experiment.objects.filter(pk=experiment.pk).update(
            is_active=True, started_at=experiment.started_at or timezone.now(), ended_at=None
        )
        try:
            with simulated_clock() as clock:
                for done, conversation in enumerate(conversations, start=1):
                    clock.restart()
                    self._conversation(conversation, clock)
                    if progress is not None:
                        progress(done)
        finally:
            Experiment.objects.filter(pk=experiment.pk).update(
                is_active=False, ended_at=timezone.now()
            )
        return self.counts

    def external_id(self, conversation: RecordedConversation) -> str:
        return f"{self.experiment.name}:{self.seed}:{conversation.id}"[:200]

    def _conversation(self, recorded: RecordedConversation, clock: SimulatedClock) -> None:
        conversation, created = conversation_open(
            agent=self.agent, external_id=self.external_id(recorded), channel=CHANNEL
        )
        if not created and conversation.messages.count() >= len(recorded.turns):
            self.counts.skipped += 1
            return
        arm = conversation.experiment_arm
        if arm is None or arm.experiment_id != self.experiment.pk:
            raise InvalidInput(
                f"conversation {conversation.external_id!r} is not in experiment "
                f"{self.experiment.name!r}"
            )
        self.counts.conversations += 1
        # Seeded by the conversation, not by its place in the run: the same conversation gets
        # the same agent whatever else is replayed with it.
        rng = random.Random(f"{self.seed}\x1f{recorded.id}")
        pace = self.time_model.conversation_pace(rng)
        for i, turn in enumerate(recorded.turns):
            client_id = f"replay-{conversation.pk}-{i}"
            if turn.role == Message.Role.CUSTOMER:
                self._customer_message(conversation, turn, client_id, in_control=arm.is_control)
            elif turn.template is None:
                clock.advance(self.time_model.typing_s * pace * rng.lognormvariate(0.0, 0.3))
                message_ingest(
                    conversation_id=conversation.pk,
                    sender=self.agent,
                    role=Message.Role.AGENT,
                    text=turn.text,
                    client_id=client_id,
                )
                self.counts.free_text_replies += 1
            else:
                self._templated_reply(conversation, turn, client_id, clock, pace, rng)
            if turn.role == Message.Role.AGENT:
                clock.advance(self.time_model.customer_s * rng.lognormvariate(0.0, 0.5))

    def _customer_message(
        self, conversation: Conversation, turn: Turn, client_id: str, *, in_control: bool
    ) -> None:
        ingested = message_ingest(
            conversation_id=conversation.pk,
            sender=CUSTOMER_LINK,
            role=Message.Role.CUSTOMER,
            text=turn.text,
            client_id=client_id,
        )
        self.counts.customer_messages += 1
        if in_control:
            return
        # The ranking runs on commit (a worker, or this process in the embedded mode); the
        # agent answers with the list it got, as a panel would show it.
        deadline = time.monotonic() + self.list_timeout_s
        while not Suggestion.objects.filter(message_id=ingested.message.pk).exists():
            if time.monotonic() > deadline:
                self.counts.lists_missing += 1
                logger.warning("no list for message %s in time", ingested.message.pk)
                return
            time.sleep(0.005)

    def _templated_reply(
        self,
        conversation: Conversation,
        turn: Turn,
        client_id: str,
        clock: SimulatedClock,
        pace: float,
        rng: random.Random,
    ) -> None:
        assert turn.template is not None
        shown = (
            Suggestion.objects.filter(conversation=conversation)
            .order_by("-seq")
            .only("pk", "items")
            .first()
        )
        keys = [item["key"] for item in shown.items] if shown is not None else []
        rank = keys.index(turn.template) + 1 if turn.template in keys else None
        seconds = self.time_model.selection_s(
            rank=rank, list_shown=shown is not None, pace=pace, rng=rng
        )
        clock.advance(seconds)
        suggestion_id = shown.pk if rank is not None and shown is not None else None
        request = pick_validate(
            conversation=conversation,
            agent_id=self.agent.pk,
            suggestion_id=suggestion_id,
            template_key=turn.template,
            rank=rank,
            action=Pick.Action.INSERTED,
            client_id=client_id,
            time_to_pick_ms=round(seconds * 1000),
        )
        if pick_submit(request=request) is None:
            # Queued for a worker: as the consumer does, store it here if no worker has
            # within the grace period.
            deadline = time.monotonic() + PICK_WORKER_GRACE_S
            while time.monotonic() < deadline:
                if Pick.objects.filter(agent=self.agent, client_id=client_id).exists():
                    break
                time.sleep(0.01)
            else:
                pick_store_if_waiting(request=request)
        # The agent sends the template as the panel inserts it (the recorded reply's own
        # wording would be an edit, which assist/labels.py may count as the agent's own text),
        # and the reply carries its pick, as the panel sends it.
        template = ResponseTemplate.objects.get(key=turn.template)
        message_ingest(
            conversation_id=conversation.pk,
            sender=self.agent,
            role=Message.Role.AGENT,
            text=template_render(template=template, conversation=conversation).text,
            client_id=client_id,
            pick={"client_id": client_id, "template": turn.template, "suggestion": suggestion_id},
        )
        self.counts.templated_replies += 1
        if shown is not None:
            self.counts.replies_with_list += 1
        if rank is None:
            self.counts.search_picks += 1
        else:
            self.counts.picks_from_list += 1


def time_model_description(model: AgentTimeModel) -> str:
    """One line for the report: the time model's constants."""
    spread = math.exp((model.reply_sigma**2 + model.conversation_sigma**2) / 2)
    return (
        f"on the list at rank r: {model.first_rank_s:g} + {model.per_rank_s:g}*(r-1) s; "
        f"not on it: {model.list_miss_s:g} + {model.search_s:g} s; "
        f"no list: {model.search_s:g} s; times log-normal noise (sigma {model.reply_sigma:g} "
        f"per reply, {model.conversation_sigma:g} per conversation: means {spread:.2f}x these)"
    )
