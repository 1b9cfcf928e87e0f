"""Recording what the agent picked, dismissed (the whole list) or rejected ("not this one",
one suggestion), exactly once per client id."""

import datetime as dt
import logging
from dataclasses import asdict, dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from assist import wire
from assist.errors import InvalidInput
from assist.live import dispatch
from assist.live.events import agent_group, send_event_on_commit, send_now
from assist.live.heartbeat import inference_available
from assist.models import Conversation, Pick, Suggestion
from templates_app.models import ResponseTemplate

MAX_TIME_TO_PICK_MS = 24 * 3600 * 1000
# The actions that use a list (Suggestion.used): the agent took a template from it.
USED_ACTIONS = (Pick.Action.INSERTED, Pick.Action.SENT)
# How long a pick handed to a worker may stay unstored before the web process stores it
# itself (pick_store_if_waiting): the heartbeat says a worker is alive for up to its TTL after
# the worker died, and a live worker may be busy ranking.
PICK_WORKER_GRACE_S = 2.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PickRequest:
    """A checked pick, plain data so it can travel to the worker as task arguments."""

    conversation_id: int
    agent_id: int
    suggestion_id: int | None
    template_id: int | None
    rank: int | None
    action: str
    client_id: str
    picked_at: str
    time_to_pick_ms: int | None

    def as_task_kwargs(self) -> dict[str, Any]:
        return asdict(self)

    def same_pick(self, pick: Pick) -> bool:
        """Whether `pick` (stored under this client id) is this one, sent again."""
        return (
            pick.conversation_id,
            pick.suggestion_id,
            pick.template_id,
            pick.rank,
            pick.action,
        ) == (self.conversation_id, self.suggestion_id, self.template_id, self.rank, self.action)


def _conflict(client_id: str) -> InvalidInput:
    return InvalidInput(
        f"client_id {client_id!r} already names a different pick of yours", code="conflict"
    )


def pick_validate(
    *,
    conversation: Conversation,
    agent_id: int,
    suggestion_id: Any,
    template_key: Any,
    rank: Any,
    action: Any,
    client_id: Any,
    time_to_pick_ms: Any = None,
) -> PickRequest:
    """Check a pick against the database before anything is queued or stored.

    A pick is refused unless its template is on its suggestion list, that list is still the
    conversation's latest and the conversation is open: anything else would count as a use
    of a list the agent was not shown. A pick already stored under its client id (a retry
    after a lost ack) passes as it was, even if the list has moved on since.
    """
    if action not in Pick.Action.values:
        raise InvalidInput("action must be 'inserted', 'sent', 'dismissed' or 'rejected'")
    if action == Pick.Action.REJECTED and (suggestion_id is None or rank is None):
        raise InvalidInput("a rejection names the suggestion list and the rank it rejects")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
        raise InvalidInput("client_id must be a string of 1 to 64 characters")
    suggestion = None
    if suggestion_id is not None:
        if not wire.is_id(suggestion_id):
            raise InvalidInput("suggestion must be an id or null")
        suggestion = Suggestion.objects.filter(pk=suggestion_id, conversation=conversation).first()
        if suggestion is None:
            raise InvalidInput(
                f"no suggestion {suggestion_id} in this conversation", code="not_found"
            )
    template = None
    if action != Pick.Action.DISMISSED or template_key is not None:
        if not isinstance(template_key, str):
            raise InvalidInput("template must be a template key")
        template = ResponseTemplate.objects.filter(key=template_key).first()
        if template is None:
            raise InvalidInput(f"no template {template_key!r}", code="not_found")
    if rank is not None:
        if suggestion is None:
            raise InvalidInput("rank needs a suggestion")
        if (
            not isinstance(rank, int)
            or isinstance(rank, bool)
            or not 1 <= rank <= len(suggestion.items)
        ):
            raise InvalidInput(f"rank must be between 1 and {len(suggestion.items)}")
        if template is not None and suggestion.items[rank - 1]["key"] != template.key:
            raise InvalidInput("template is not the one at that rank of the suggestion")
    if (
        suggestion is not None
        and template is not None
        and template.key not in {item["key"] for item in suggestion.items}
    ):
        raise InvalidInput("template is not on that suggestion list")
    if time_to_pick_ms is not None and (
        not isinstance(time_to_pick_ms, int)
        or isinstance(time_to_pick_ms, bool)  # True is an int to Python, not a duration
        or not 0 <= time_to_pick_ms <= MAX_TIME_TO_PICK_MS
    ):
        raise InvalidInput("time_to_pick_ms must be a whole number of milliseconds")
    request = PickRequest(
        conversation_id=conversation.pk,
        agent_id=agent_id,
        suggestion_id=suggestion.pk if suggestion else None,
        template_id=template.pk if template else None,
        rank=rank,
        action=action,
        client_id=client_id,
        picked_at=timezone.now().isoformat(),
        time_to_pick_ms=time_to_pick_ms,
    )
    stored = Pick.objects.filter(agent_id=agent_id, client_id=client_id).first()
    if stored is not None:
        if not request.same_pick(stored):
            raise _conflict(client_id)
        return request
    if conversation.status != Conversation.Status.OPEN:
        raise InvalidInput("the conversation is closed")
    if (
        suggestion is not None
        and Suggestion.objects.filter(conversation=conversation, seq__gt=suggestion.seq).exists()
    ):
        raise InvalidInput("a newer suggestion list has replaced that one", code="stale")
    return request


def ack_kind(action: str) -> str:
    """What an `ack` frame calls a stored pick row."""
    kinds: dict[str, str] = {Pick.Action.DISMISSED: "dismiss", Pick.Action.REJECTED: "reject"}
    return kinds.get(action, "pick")


def pick_record(*, request: PickRequest) -> tuple[Pick, bool]:
    """Store the pick unless its client id is already stored; returns (pick, created).

    Either way the agent's panels get an `ack` after the commit: a retry is acknowledged again.
    """
    ack = {"type": "assist.ack", "client_id": request.client_id, "kind": ack_kind(request.action)}
    try:
        with transaction.atomic():
            pick = Pick.objects.create(
                conversation_id=request.conversation_id,
                agent_id=request.agent_id,
                suggestion_id=request.suggestion_id,
                template_id=request.template_id,
                rank=request.rank,
                action=request.action,
                client_id=request.client_id,
                picked_at=dt.datetime.fromisoformat(request.picked_at),
                time_to_pick_ms=request.time_to_pick_ms,
            )
            if request.suggestion_id is not None and request.action in USED_ACTIONS:
                Suggestion.objects.filter(pk=request.suggestion_id, used=False).update(used=True)
            send_event_on_commit(agent_group(request.agent_id), {**ack, "id": pick.pk})
            return pick, True
    except IntegrityError:
        pick = Pick.objects.get(agent_id=request.agent_id, client_id=request.client_id)
        if not request.same_pick(pick):
            # Two different picks raced under one client id; pick_validate refuses the rest.
            raise _conflict(request.client_id) from None
        send_now(agent_group(request.agent_id), {**ack, "id": pick.pk})
        return pick, False


def pick_store_if_waiting(*, request: PickRequest) -> Pick | None:
    """Store a pick that was queued for a worker, unless a worker has stored it meanwhile.

    Returns the pick when it was stored here. A worker that takes the task later finds the row
    (the unique client id) and acknowledges it again; nothing is stored twice.
    """
    if Pick.objects.filter(agent_id=request.agent_id, client_id=request.client_id).exists():
        return None
    pick, created = pick_record(request=request)
    if created:
        logger.warning("pick %s not stored by a worker in time: stored here", request.client_id)
    return pick if created else None


def pick_submit(*, request: PickRequest) -> Pick | None:
    """Have a worker log the pick, as the design says, or store it here when no worker is
    alive or the broker is unreachable: a pick is never left waiting for a worker.

    Returns the pick when it was stored here. On the worker path the `ack` reaches the panel
    from pick_record once the row is committed; the caller calls pick_store_if_waiting after
    PICK_WORKER_GRACE_S, so that a worker that died after its last heartbeat, or is busy,
    delays a pick by that much at most.
    """
    if inference_available():
        try:
            dispatch.enqueue(dispatch.LOG_PICK, **request.as_task_kwargs())
            return None
        except (OperationalError, ConnectionError, OSError):
            logger.warning("broker unreachable: storing pick %s directly", request.client_id)
    pick, _ = pick_record(request=request)
    return pick
