"""The agent's WebSocket (docs/protocol.md): parse a frame, check access, call one service.

Every database touch goes through database_sync_to_async-wrapped services and selectors.
A frame that fails any check gets an `error` frame and changes nothing.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404

from assist import access, wire
from assist.errors import InvalidInput
from assist.languages import AGENT as AGENT_CHOICE
from assist.live import picks, selectors
from assist.live.conversations import conversation_close
from assist.live.events import agent_group, conversation_group
from assist.live.heartbeat import inference_available
from assist.live.languages import conversation_language_set
from assist.live.messages import Ingested, message_ingest
from assist.live.picks import PickRequest, ack_kind, pick_submit, pick_validate
from assist.models import Conversation
from assist.ratelimit import rate_count
from assist.roles import AGENT, SUPERVISOR, user_roles
from assist.tokens import parse_authorization, token_is_live, token_lookup

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
# "Try again later" (RFC 6455's registry): the channel layer (Redis) is unreachable.
CLOSE_TRY_AGAIN_LATER = 1013
# A socket that is not signed in at the handshake may only send its `auth` frame (or a ping):
# small frames, a few of them, soon. uvicorn bounds every frame (serve.py's uvicorn_limits);
# these bound what an anonymous client costs a server beyond that.
PRE_AUTH_MAX_BYTES = 4096
PRE_AUTH_MAX_FRAMES = 5
AUTH_TIMEOUT_S = 10.0


class FrameError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _field(frame: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = frame.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise FrameError("invalid", f"'{name}' is missing or has the wrong type")
    return value


@database_sync_to_async
def _token(raw: str) -> Any:
    return token_lookup(raw)


@database_sync_to_async
def _signed_in_again(user_id: int, token_id: int | None) -> Any:
    """The socket's user, read afresh, if its sign-in still holds (the token live, the account
    active, a panel role kept); else None."""
    if token_id is not None and not token_is_live(token_id):
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user_roles(user) & {AGENT, SUPERVISOR}:
        return None
    return user


@database_sync_to_async
def _roles(user: Any) -> frozenset[str]:
    return user_roles(user)


def _conversation_id(value: Any) -> int:
    if not wire.is_id(value):
        raise FrameError("invalid", "'conversation' must be a conversation id")
    return value


@contextmanager
def _access_errors() -> Iterator[None]:
    """assist/access.py's refusals as the `error` frames the protocol names."""
    try:
        yield
    except Http404 as error:
        raise FrameError("not_found", "no such conversation") from error
    except PermissionDenied as error:
        raise FrameError("forbidden", str(error)) from error


@database_sync_to_async
def _conversation(user: Any, conversation_id: Any, *, write: bool) -> Conversation:
    conversation_id = _conversation_id(conversation_id)
    with _access_errors():
        return access.conversation_for_user(user, conversation_id, write=write)


@database_sync_to_async
def _message_ingest(user: Any, conversation_id: Any, **fields: Any) -> Ingested:
    # One trip to the database thread, one statement: message_ingest checks access in its
    # INSERT (a message is the live loop's hot path).
    conversation_id = _conversation_id(conversation_id)
    with _access_errors():
        return message_ingest(conversation_id=conversation_id, sender=user, **fields)


class AssistConsumer(AsyncWebsocketConsumer):
    user: Any = None
    token_id: int | None = None  # the AgentToken this socket signed in with, if any
    subscribed: set[int]
    pre_auth_frames = 0
    auth_deadline: "asyncio.Task[None] | None" = None

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        """Channels subscribes each socket to the channel layer before its handshake; with
        Redis down that raises, and the server would answer the handshake with HTTP 500. The
        client gets a clean close instead, 1013 with a reason, and reconnects later (as the
        panel does after any close)."""
        accepted = closed = False

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal accepted, closed
            accepted |= message["type"] == "websocket.accept"
            closed |= message["type"] == "websocket.close"
            await send(message)

        try:
            await super().__call__(scope, receive, tracked_send)
        except (redis.RedisError, OSError) as error:  # OSError: ConnectionError, TimeoutError
            logger.warning("channel layer unavailable: %s", type(error).__name__)
            if closed:
                return
            if not accepted:
                await send({"type": "websocket.accept"})
            await send(
                {
                    "type": "websocket.close",
                    "code": CLOSE_TRY_AGAIN_LATER,
                    "reason": "live updates are unavailable; reconnect later",
                }
            )

    async def connect(self) -> None:
        self.subscribed = set()
        self.pick_fallbacks: set[asyncio.Future[None]] = set()
        headers = dict(self.scope.get("headers", []))
        raw = parse_authorization(headers.get(b"authorization", b"").decode("latin-1"))
        if raw:
            token = await _token(raw)
            if token is None:
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return
            user, self.token_id = token.user, token.pk
        else:
            user = self.scope.get("user")
        await self.accept()
        if user is not None and user.is_authenticated:
            await self._start(user)
        else:
            self.auth_deadline = asyncio.ensure_future(self._close_unless_signed_in())

    async def _close_unless_signed_in(self) -> None:
        await asyncio.sleep(AUTH_TIMEOUT_S)
        if self.user is None:
            await self._error("unauthenticated", "no `auth` frame in time")
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def _start(self, user: Any) -> None:
        roles = await _roles(user)
        if not roles & {AGENT, SUPERVISOR}:
            await self._error("forbidden", "the panel is for agents and supervisors")
            await self.close(code=4403)
            return
        self.user = user
        if self.auth_deadline is not None:
            self.auth_deadline.cancel()
        await self.channel_layer.group_add(agent_group(user.pk), self.channel_name)
        conversations = await database_sync_to_async(
            lambda: [
                selectors.conversation_summary(c)
                for c in selectors.open_conversations_for_agent(user)
            ]
        )()
        # Only agents act in chats; a supervisor's panel watches (no close, no picks stored).
        await self._send(
            "ready",
            user=user.get_username(),
            conversations=conversations,
            read_only=AGENT not in roles,
        )

    async def disconnect(self, code: int) -> None:
        if self.auth_deadline is not None:
            self.auth_deadline.cancel()
        if self.user is not None:
            await self.channel_layer.group_discard(agent_group(self.user.pk), self.channel_name)
        for conversation_id in self.subscribed:
            await self.channel_layer.group_discard(
                conversation_group(conversation_id), self.channel_name
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame: Any = None
        if self.user is None and not await self._pre_auth_allowed(text_data):
            return
        try:
            if text_data is None or len(text_data.encode()) > settings.WS_MAX_FRAME_BYTES:
                raise FrameError(
                    "too_large", f"frames are text of at most {settings.WS_MAX_FRAME_BYTES} bytes"
                )
            allowed = await self._within_rate()
            # NUL, lone surrogates, huge numbers and deep nesting are refused here, whatever
            # field they are in, so no handler below has to think of them.
            frame = wire.json_loads(text_data)
            if not isinstance(frame, dict):
                raise FrameError("bad_json", "a frame must be a JSON object")
            # Parsed first (the size is bounded above) so that the error names the refused
            # frame's client_id and the panel knows which pick to send again.
            if not allowed:
                raise FrameError("rate_limited", "too many frames; slow down")
            await self._dispatch(frame)
        except FrameError as error:
            client_id = frame.get("client_id") if isinstance(frame, dict) else None
            await self._error(error.code, error.detail, client_id=client_id)
        except InvalidInput as error:
            client_id = frame.get("client_id") if isinstance(frame, dict) else None
            await self._error(error.code, str(error), client_id=client_id)
        except DataError:
            # A value the database refused (the checks above should leave none): the
            # statement rolled back, and it is the frame that is wrong, not the socket.
            logger.warning("frame refused by the database", exc_info=True)
            client_id = frame.get("client_id") if isinstance(frame, dict) else None
            await self._error("invalid", "a value is out of range", client_id=client_id)
        except (OperationalError, InterfaceError) as error:
            # The database is unreachable: the frame's transaction rolled back, so the client
            # may send it again (client ids make that safe) instead of losing its socket.
            logger.warning("database unavailable: %s", type(error).__name__)
            client_id = frame.get("client_id") if isinstance(frame, dict) else None
            await self._error(
                "unavailable", "the database is unavailable; try again shortly", client_id=client_id
            )

    async def _within_rate(self) -> bool:
        """Count one frame against the agent's budget, which all their sockets on every server
        share (assist/ratelimit.py): WS_RATE_BURST frames in each window of WS_RATE_BURST /
        WS_RATE_PER_SECOND seconds. Let through if the cache is unreachable."""
        if self.user is None:
            return True  # before `auth`, PRE_AUTH_MAX_FRAMES bounds the socket
        period = max(1, round(settings.WS_RATE_BURST / settings.WS_RATE_PER_SECOND))
        # Not on the thread that runs this process's database calls (thread_sensitive): a
        # count is a Redis round trip or two, and on that one thread every socket's count
        # would queue behind every socket's database work.
        count = await sync_to_async(rate_count, thread_sensitive=False)(
            f"ratelimit:ws:user:{self.user.pk}", period=period, limit=settings.WS_RATE_BURST
        )
        return count is None or count <= settings.WS_RATE_BURST

    async def _pre_auth_allowed(self, text_data: str | None) -> bool:
        """Whether a frame from a socket not yet signed in may be read; closes it if not."""
        self.pre_auth_frames += 1
        if (
            text_data is not None
            and len(text_data) <= PRE_AUTH_MAX_BYTES
            and self.pre_auth_frames <= PRE_AUTH_MAX_FRAMES
        ):
            return True
        await self._error("unauthenticated", "sign in first: send a small `auth` frame")
        await self.close(code=CLOSE_UNAUTHENTICATED)
        return False

    async def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "ping":
            await self._send("pong")
            return
        if kind == "auth":
            await self._auth(frame)
            return
        handler = {
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "message": self._message,
            "pick": self._pick,
            "dismiss": self._dismiss,
            "search": self._search,
            "close": self._close,
            "language": self._language,
        }.get(kind)  # type: ignore[arg-type]
        if handler is None:
            raise FrameError("unknown_type", f"unknown frame type {kind!r}")
        if self.user is None:
            raise FrameError("unauthenticated", "sign in, or send an 'auth' frame first")
        await handler(frame)

    async def _auth(self, frame: dict[str, Any]) -> None:
        if self.user is not None:
            raise FrameError("invalid", "already authenticated")
        token = await _token(_field(frame, "token", str))
        if token is None:
            await self._error("unauthenticated", "invalid or revoked token")
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.token_id = token.pk
        await self._start(token.user)

    async def _subscribe(self, frame: dict[str, Any]) -> None:
        conversation = await _conversation(self.user, frame.get("conversation"), write=False)
        await self.channel_layer.group_add(conversation_group(conversation.pk), self.channel_name)
        self.subscribed.add(conversation.pk)
        state = await database_sync_to_async(selectors.conversation_state)(
            conversation, assist_available=inference_available()
        )
        await self._send("state", **state)

    async def _unsubscribe(self, frame: dict[str, Any]) -> None:
        conversation_id = _conversation_id(frame.get("conversation"))
        if conversation_id in self.subscribed:
            self.subscribed.discard(conversation_id)
            await self.channel_layer.group_discard(
                conversation_group(conversation_id), self.channel_name
            )

    async def _message(self, frame: dict[str, Any]) -> None:
        template = frame.get("template")
        if template is not None and not isinstance(template, str):
            raise FrameError("invalid", "'template' must be a template key")
        ingested = await _message_ingest(
            self.user,
            frame.get("conversation"),
            role=_field(frame, "role", str),
            text=_field(frame, "text", str),
            client_id=_field(frame, "client_id", str),
            template_key=template,
            pick=frame.get("pick"),
        )
        await self._send(
            "ack", client_id=ingested.message.client_id, id=ingested.message.pk, kind="message"
        )

    async def _pick(self, frame: dict[str, Any]) -> None:
        await self._log_pick(frame, action=frame.get("action"))

    async def _dismiss(self, frame: dict[str, Any]) -> None:
        if frame.get("suggestion") is None:
            raise FrameError("invalid", "'suggestion' is required to dismiss")
        await self._log_pick({**frame, "template": None, "rank": None}, action="dismissed")

    async def _log_pick(self, frame: dict[str, Any], *, action: Any) -> None:
        conversation = await _conversation(self.user, frame.get("conversation"), write=True)
        request = await database_sync_to_async(pick_validate)(
            conversation=conversation,
            agent_id=self.user.pk,
            suggestion_id=frame.get("suggestion"),
            template_key=frame.get("template"),
            rank=frame.get("rank"),
            action=action,
            client_id=frame.get("client_id"),
            time_to_pick_ms=frame.get("time_to_pick_ms"),
        )
        stored = await database_sync_to_async(pick_submit)(request=request)
        if stored is not None:
            # Stored here: ack directly, the channel layer may be what is down.
            await self._send(
                "ack", client_id=stored.client_id, id=stored.pk, kind=ack_kind(stored.action)
            )
        else:
            # Not cancelled when the socket closes: the pick must be stored regardless.
            self.pick_fallbacks.add(asyncio.ensure_future(self._store_if_waiting(request)))

    async def _store_if_waiting(self, request: PickRequest) -> None:
        try:
            await asyncio.sleep(picks.PICK_WORKER_GRACE_S)
            stored = await database_sync_to_async(picks.pick_store_if_waiting)(request=request)
            if stored is not None:
                await self._send(
                    "ack", client_id=stored.client_id, id=stored.pk, kind=ack_kind(stored.action)
                )
        except Exception:
            # The worker's task is still queued and will store it: nothing is lost.
            logger.warning("pick %s: storing it here failed", request.client_id, exc_info=True)
        finally:
            self.pick_fallbacks.discard(asyncio.current_task())

    async def _search(self, frame: dict[str, Any]) -> None:
        query = _field(frame, "query", str)
        if len(query) > 200:
            raise FrameError("too_large", "a search is at most 200 characters")
        conversation = None
        if frame.get("conversation") is not None:
            conversation = await _conversation(self.user, frame["conversation"], write=False)
        items = await database_sync_to_async(selectors.search_items)(
            query, conversation=conversation
        )
        await self._send("search_results", request_id=frame.get("request_id"), items=items)

    async def _close(self, frame: dict[str, Any]) -> None:
        conversation_id = _conversation_id(frame.get("conversation"))
        client_id = _field(frame, "client_id", str)
        with _access_errors():
            await database_sync_to_async(conversation_close)(
                user=self.user, conversation_id=conversation_id
            )
        # Acknowledged whether or not this frame changed anything: closing is idempotent.
        await self._send("ack", client_id=client_id, id=conversation_id, kind="close")

    async def _language(self, frame: dict[str, Any]) -> None:
        """The agent's choice of the conversation's language (blank: detect it again)."""
        language = _field(frame, "language", str)
        client_id = _field(frame, "client_id", str)
        conversation = await _conversation(self.user, frame.get("conversation"), write=True)
        await database_sync_to_async(conversation_language_set)(
            conversation=conversation, language=language, source=AGENT_CHOICE
        )
        await self._send("ack", client_id=client_id, id=conversation.pk, kind="language")

    # --- events from the channel layer (assist/live/events.py) -----------------------------------

    async def assist_language(self, event: dict[str, Any]) -> None:
        """The conversation's language changed (assist/live/languages.py)."""
        if event["conversation"] in self.subscribed:
            await self._send(
                "language", conversation=event["conversation"], language=event["language"]
            )

    async def assist_suggestions(self, event: dict[str, Any]) -> None:
        if event["frame"]["conversation"] in self.subscribed:
            await self._send("suggestions", **event["frame"])

    async def assist_closed(self, event: dict[str, Any]) -> None:
        """A conversation was closed (assist/live/conversations.py): its tab goes."""
        conversation_id = event["conversation"]
        if conversation_id in self.subscribed:
            self.subscribed.discard(conversation_id)
            await self.channel_layer.group_discard(
                conversation_group(conversation_id), self.channel_name
            )
        await self._send("closed", conversation=conversation_id)

    async def assist_ack(self, event: dict[str, Any]) -> None:
        await self._send("ack", client_id=event["client_id"], id=event["id"], kind=event["kind"])

    async def assist_access(self, event: dict[str, Any]) -> None:
        """Access was taken away somewhere (assist/live/revocation.py): check ours again."""
        if self.user is None:
            return
        conversation_id = event.get("conversation")
        if conversation_id is None:
            user = await _signed_in_again(self.user.pk, self.token_id)
            if user is None:
                await self._signed_out()
                return
            self.user = user  # fresh roles for the checks below and for later frames
            conversations = set(self.subscribed)
        else:
            conversations = {conversation_id} & self.subscribed
        for subscribed in conversations:
            try:
                await _conversation(self.user, subscribed, write=False)
            except FrameError:
                self.subscribed.discard(subscribed)
                await self.channel_layer.group_discard(
                    conversation_group(subscribed), self.channel_name
                )
                await self._send(
                    "error",
                    code="forbidden",
                    detail="you no longer have access to this conversation",
                    conversation=subscribed,
                )

    async def _signed_out(self) -> None:
        user, self.user = self.user, None  # no frame after this one acts as that user
        await self.channel_layer.group_discard(agent_group(user.pk), self.channel_name)
        await self._error("unauthenticated", "signed out: the token or the account was revoked")
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def assist_status(self, event: dict[str, Any]) -> None:
        await self._send("status", assist_available=event["assist_available"])

    # --- helpers ------------------------------------------------------------------------------

    async def _send(self, frame_type: str, /, **fields: Any) -> None:
        await self.send(text_data=json.dumps({"type": frame_type, **fields}))

    async def _error(self, code: str, detail: str, *, client_id: Any = None) -> None:
        extra = {"client_id": client_id} if isinstance(client_id, str) else {}
        await self._send("error", code=code, detail=detail, **extra)
