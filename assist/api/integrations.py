"""The helpdesk webhook: a helpdesk feeds conversations, messages, assignments and closings
without any browser (docs/protocol.md, "Helpdesk webhook").

Each event is signed with HELPDESK_WEBHOOK_SECRET over `<timestamp>.<raw body>` (HMAC-SHA256),
so neither the body nor the time can be changed, and a captured request stops working after
HELPDESK_WEBHOOK_TOLERANCE_S. An event is applied once: its id is stored in the same transaction
as its effects (HelpdeskEvent), so a redelivery answers 200 and changes nothing, and an event
that fails changes nothing at all. Effects go through the same services as the REST API and the
sockets (assist/live/messages.py, assist/live/conversations.py): rankings and panel events
happen as they do for an agent.

Supervisors and helpdesk service accounts (role integration) make the same assignment through
the REST API (ConversationAssignee).
"""

import hashlib
import hmac
import json
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assist.access import active_agent, conversation_for_user, require_role
from assist.api.parsers import PARSERS
from assist.api.serializers import ConversationSerializer
from assist.api.views import CONVERSATION_ID, responses
from assist.errors import InvalidInput
from assist.live.conversations import conversation_assign, conversation_mark_closed
from assist.live.messages import CUSTOMER_LINK, conversation_open, message_ingest
from assist.models import Conversation, HelpdeskEvent, Message
from assist.roles import INTEGRATION, SUPERVISOR

SIGNATURE_HEADER = "X-Assist-Signature"
TIMESTAMP_HEADER = "X-Assist-Timestamp"
EVENT_TYPES = frozenset(
    {"conversation.opened", "message.created", "conversation.assigned", "conversation.closed"}
)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Assist-Signature` value for `body` sent at `timestamp` (what a helpdesk computes)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


class Unauthenticated(Exception):
    pass


def _verify(request: HttpRequest, secret: str) -> None:
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not timestamp.isdigit() or not signature:
        raise Unauthenticated(f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required")
    # Compared in constant time, before anything about the body is trusted or parsed.
    if not hmac.compare_digest(sign(secret, timestamp, request.body), signature):
        raise Unauthenticated("the signature does not match the body")
    if abs(time.time() - int(timestamp)) > settings.HELPDESK_WEBHOOK_TOLERANCE_S:
        raise Unauthenticated("the timestamp is too far from now (a replay, or a wrong clock)")


def _string(value: Any, name: str, *, limit: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise InvalidInput(f"{name} must be a string of 1 to {limit} characters")
    return value


def _assignee(value: Any) -> User | None:
    return active_agent(_string(value, "assignee", limit=150))


def _parse(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInput(f"the body is not JSON: {error}") from None
    if not isinstance(event, dict):
        raise InvalidInput("the body must be a JSON object")
    _string(event.get("id"), "id", limit=200)
    if event.get("type") not in EVENT_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(sorted(EVENT_TYPES))}")
    if not isinstance(event.get("conversation"), dict):
        raise InvalidInput("conversation must be an object with external_id")
    if event["type"] == "conversation.assigned" and "assignee" not in event:
        raise InvalidInput("conversation.assigned needs assignee (a username, or null)")
    if event["type"] == "message.created" and not isinstance(event.get("message"), dict):
        raise InvalidInput("message.created needs message: {id, role, text}")
    return event


def _apply(event: dict[str, Any]) -> Conversation:
    """The event's effects; InvalidInput for anything it cannot store (the caller rolls back)."""
    fields = event["conversation"]
    # Any event names its conversation, and the first one about it opens it: a helpdesk's
    # deliveries need not arrive in order.
    assignee = _assignee(event["assignee"]) if event.get("assignee") is not None else None
    conversation, created = conversation_open(
        agent=assignee,
        external_id=_string(fields.get("external_id"), "conversation.external_id", limit=200),
        channel=_string(fields.get("channel"), "conversation.channel", limit=32, required=False),
        customer_name=_string(
            fields.get("customer_name"), "conversation.customer_name", limit=200, required=False
        ),
    )
    if not created and "assignee" in event:
        # `assignee: null` unassigns; an event without the field leaves the assignee alone.
        conversation_assign(conversation=conversation, agent=assignee)
    if event["type"] == "message.created":
        message = event["message"]
        role = message.get("role", Message.Role.CUSTOMER)
        message_ingest(
            conversation_id=conversation.pk,
            # The signature vouches for the helpdesk, which writes in any of its conversations
            # as the customer's own link does; picks and templates come only from agents.
            sender=CUSTOMER_LINK,
            role=role,
            text=message.get("text"),  # message_ingest checks it
            client_id=_string(message.get("id"), "message.id", limit=64),
        )
    elif event["type"] == "conversation.closed":
        conversation_mark_closed(conversation)
    return conversation


@csrf_exempt  # signed by the helpdesk, not a browser form: no cookie is involved
@require_POST
def helpdesk_events(request: HttpRequest) -> JsonResponse:
    secret = settings.HELPDESK_WEBHOOK_SECRET
    if not secret:
        raise Http404("The helpdesk webhook is not configured.")
    try:
        _verify(request, secret)
    except Unauthenticated as error:
        return JsonResponse({"detail": str(error)}, status=401)
    try:
        event = _parse(request.body)
        stored = HelpdeskEvent.objects.filter(event_id=event["id"]).first()
        if stored is None:
            try:
                with transaction.atomic():
                    conversation = _apply(event)
                    HelpdeskEvent.objects.create(
                        event_id=event["id"], type=event["type"], conversation=conversation
                    )
            except IntegrityError:
                # The same event applied by a concurrent delivery: this one was rolled back
                # (its panel events and rankings with it, as they wait for the commit).
                stored = HelpdeskEvent.objects.filter(event_id=event["id"]).first()
                if stored is None:
                    raise
    except InvalidInput as error:
        return JsonResponse({"detail": str(error), "code": error.code}, status=400)
    if stored is not None:
        # A redelivery: its effects were stored the first time.
        body = {"event": event["id"], "duplicate": True, "conversation": stored.conversation_id}
    else:
        body = {"event": event["id"], "duplicate": False, "conversation": conversation.pk}
    return JsonResponse(body)


class AssigneeSerializer(serializers.Serializer):
    # An active agent's username; null assigns the conversation to nobody.
    assignee = serializers.CharField(max_length=150, allow_null=True)


class ConversationAssignee(APIView):
    parser_classes = PARSERS

    @extend_schema(
        parameters=[CONVERSATION_ID],
        request=AssigneeSerializer,
        responses=responses({200: ConversationSerializer}, 400, 404, 413, 415),
    )
    def put(self, request: Request, conversation_id: int) -> Response:
        """Assign or transfer the conversation (supervisors and helpdesk service accounts): the
        same change as the helpdesk webhook's `conversation.assigned`."""
        require_role(request.user, SUPERVISOR, INTEGRATION)
        conversation = conversation_for_user(request.user, conversation_id)
        serializer = AssigneeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["assignee"]
        agent = None if username is None else _assignee(username)
        conversation_assign(conversation=conversation, agent=agent)
        return Response(ConversationSerializer(conversation).data)
