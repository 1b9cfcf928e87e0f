"""REST adapters: parse, check access (assist.access), call a selector or service, serialize."""

from typing import Any, cast

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assist.access import (
    conversation_assignee_for_open,
    conversation_for_user,
    conversations_visible_to,
    require_picker,
    require_role,
)
from assist.api.authentication import AgentTokenAuthentication
from assist.api.parsers import PARSERS, StrictLimitOffsetPagination, query_params
from assist.api.serializers import (
    AckSerializer,
    ConversationDetailSerializer,
    ConversationFilterSerializer,
    ConversationOpenSerializer,
    ConversationSerializer,
    ConversationUpdateSerializer,
    MessageInSerializer,
    ModelVersionSerializer,
    PickInSerializer,
    SuggestionFrameSerializer,
    TemplateQuerySerializer,
    TemplateSerializer,
    TokenSerializer,
)
from assist.languages import HELPDESK
from assist.live.languages import conversation_language_set
from assist.live.messages import conversation_open, message_ingest
from assist.live.picks import pick_record, pick_validate
from assist.live.selectors import latest_suggestion, suggestion_frame
from assist.models import Conversation, Message, ModelVersion
from assist.roles import AGENT, CATALOG_ADMIN, INTEGRATION, SUPERVISOR
from assist.tokens import parse_authorization, token_issue, token_revoke
from assist.wire import MAX_ID
from templates_app.models import ResponseTemplate
from templates_app.search import template_search
from templates_app.variants import variants_by_key

ERROR_MEANING = {
    400: "The input is invalid: `detail`, or an object naming each invalid field.",
    401: "No valid token or session.",
    403: "Not allowed: the caller's role, or a conversation assigned to another agent.",
    404: "No such conversation, suggestion or template.",
    409: "The client_id names something different (`conflict`), or the suggestion list is no "
    "longer the latest (`stale`).",
    413: "The body is over the size limit, or the text over MESSAGE_MAX_CHARS.",
    415: "The body's content type is not JSON, a form or multipart.",
    429: "Over API_RATE; see Retry-After.",
    503: "The database is unavailable; nothing was stored; see Retry-After.",
}
# Every operation may answer these: authentication, roles, the rate limit, the database.
ALWAYS = (401, 403, 429, 503)


def responses(ok: dict[int, Any], *errors: int) -> dict[int, Any]:
    """An operation's documented responses: its successes, then its errors (a JSON object)."""
    documented: dict[int, Any] = dict(ok)
    for status in sorted({*errors, *ALWAYS}):
        documented[status] = OpenApiResponse(OpenApiTypes.OBJECT, ERROR_MEANING[status])
    return documented


# A URL's <int:> has no bound, but ids are positive bigints (assist/wire.py).
CONVERSATION_ID = OpenApiParameter(
    "conversation_id",
    {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    OpenApiParameter.PATH,
)


class ConversationList(generics.ListAPIView):
    """Conversations the caller may see: an agent's own, or all for a supervisor."""

    serializer_class = ConversationSerializer
    parser_classes = PARSERS
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(
        request=ConversationOpenSerializer,
        responses=responses(
            {200: ConversationSerializer, 201: ConversationSerializer}, 400, 413, 415
        ),
    )
    def post(self, request: Request) -> Response:
        """Open a conversation assigned to the calling agent (or, for a service account, to the
        agent named by `assignee`), or return it if it exists."""
        require_role(request.user, AGENT, INTEGRATION)
        data = _valid(ConversationOpenSerializer, request)
        language = data.pop("language", None)
        # Checked before anything is stored: a bad assignee changes nothing.
        agent = conversation_assignee_for_open(request.user, data.pop("assignee", None))
        conversation, created = conversation_open(agent=agent, **data)
        # Only a new conversation goes to the agent it is opened for: one that exists keeps the
        # assignee it has (the helpdesk's, assist/api/integrations.py), never the first reader.
        # A service account, which reads them all, gets it as it is (PUT .../assignee moves it).
        if agent.pk == request.user.pk:
            if conversation.assigned_agent_id is None:
                raise PermissionDenied("The helpdesk has not assigned this conversation to anyone.")
            if conversation.assigned_agent_id != agent.pk:
                raise PermissionDenied("This conversation is assigned to another agent.")
        if language:
            conversation = conversation_language_set(
                conversation=conversation, language=language, source=HELPDESK
            )
        return Response(ConversationSerializer(conversation).data, status=201 if created else 200)

    @extend_schema(
        parameters=[ConversationFilterSerializer],
        responses=responses({200: ConversationSerializer(many=True)}, 400),
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Conversation]:
        conversations = conversations_visible_to(self.request.user).select_related("assigned_agent")
        status = query_params(ConversationFilterSerializer, self.request).get("status")
        if status:
            conversations = conversations.filter(status=status)
        return conversations


class ConversationDetail(APIView):
    parser_classes = PARSERS

    @extend_schema(
        parameters=[CONVERSATION_ID],
        responses=responses({200: ConversationDetailSerializer}, 404),
    )
    def get(self, request: Request, conversation_id: int) -> Response:
        conversation = conversation_for_user(request.user, conversation_id)
        messages = Message.objects.select_related("template")
        conversation = (
            Conversation.objects.select_related("assigned_agent")
            .prefetch_related(Prefetch("messages", queryset=messages))
            .get(pk=conversation.pk)
        )
        return Response(ConversationDetailSerializer(conversation).data)

    @extend_schema(
        parameters=[CONVERSATION_ID],
        request=ConversationUpdateSerializer,
        responses=responses({200: ConversationSerializer}, 400, 404, 413, 415),
    )
    def patch(self, request: Request, conversation_id: int) -> Response:
        """Set the conversation's language, as the helpdesk knows it (blank: detect it)."""
        conversation = conversation_for_user(request.user, conversation_id, write=True)
        data = _valid(ConversationUpdateSerializer, request)
        conversation = conversation_language_set(
            conversation=conversation, language=data["language"], source=HELPDESK
        )
        return Response(ConversationSerializer(conversation).data)


class TemplateList(generics.ListAPIView):
    """Active templates matching `q`, best first (templates_app/search.py): the panel's search.
    `locale`: the texts in that locale are searched besides each key's own (absent: every
    locale's), and each key comes in that locale's text, or its own marked `fallback`."""

    serializer_class = TemplateSerializer
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(
        parameters=[TemplateQuerySerializer],
        responses=responses({200: TemplateSerializer(many=True)}, 400),
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ResponseTemplate]:
        require_role(self.request.user, AGENT, CATALOG_ADMIN, SUPERVISOR)
        self.params = query_params(TemplateQuerySerializer, self.request)
        return template_search(
            query=self.params["q"], category=self.params["category"], locale=self.params["locale"]
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        templates = list(page if page is not None else queryset)
        locale = self.params["locale"]
        context = {
            **self.get_serializer_context(),
            "locale": locale,
            # One query for the page's texts in that locale, not one per key.
            "variants": variants_by_key([template.key for template in templates], locale),
        }
        data = self.get_serializer_class()(templates, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)


class ModelVersionList(generics.ListAPIView):
    serializer_class = ModelVersionSerializer
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(responses=responses({200: ModelVersionSerializer(many=True)}, 400))
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ModelVersion]:
        require_role(self.request.user, SUPERVISOR, CATALOG_ADMIN)
        return ModelVersion.objects.all()


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class MessageCreate(APIView):
    parser_classes = PARSERS

    @extend_schema(
        parameters=[CONVERSATION_ID],
        request=MessageInSerializer,
        responses=responses({200: AckSerializer, 201: AckSerializer}, 400, 404, 409, 413, 415),
    )
    def post(self, request: Request, conversation_id: int) -> Response:
        """Store a message once per client id; a customer message triggers a ranking."""
        data = _valid(MessageInSerializer, request)
        ingested = message_ingest(
            conversation_id=conversation_id,
            sender=request.user,
            role=data["role"],
            text=data["text"],
            client_id=data["client_id"],
            template_key=data["template"],
            pick=dict(data["pick"]) if data["pick"] is not None else None,
        )
        body = {
            "id": ingested.message.pk,
            "client_id": ingested.message.client_id,
            "created": ingested.created,
        }
        return Response(body, status=201 if ingested.created else 200)


class PickCreate(APIView):
    parser_classes = PARSERS

    @extend_schema(
        request=PickInSerializer,
        responses=responses({200: AckSerializer, 201: AckSerializer}, 400, 404, 409, 413, 415),
    )
    def post(self, request: Request) -> Response:
        """Store a pick once per client id. The response is the acknowledgement: it comes
        only after the row is committed, so REST stores directly instead of via a worker."""
        data = _valid(PickInSerializer, request)
        require_picker(request.user)
        conversation = conversation_for_user(request.user, data["conversation"], write=True)
        pick, created = pick_record(
            request=pick_validate(
                conversation=conversation,
                agent_id=cast(User, request.user).pk,  # write access implies signed in
                suggestion_id=data["suggestion"],
                template_key=data["template"],
                rank=data["rank"],
                action=data["action"],
                client_id=data["client_id"],
                time_to_pick_ms=data.get("time_to_pick_ms"),
            )
        )
        body = {"id": pick.pk, "client_id": pick.client_id, "created": created}
        return Response(body, status=201 if created else 200)


class LatestSuggestion(APIView):
    @extend_schema(
        parameters=[CONVERSATION_ID],
        responses=responses({200: SuggestionFrameSerializer, 204: None}, 404),
    )
    def get(self, request: Request, conversation_id: int) -> Response:
        """The latest suggestion list of the conversation, as the panel shows it."""
        conversation = conversation_for_user(request.user, conversation_id)
        suggestion = latest_suggestion(conversation)
        if suggestion is None:
            return Response(status=204)
        return Response(suggestion_frame(suggestion))


class Tokens(APIView):
    authentication_classes = [SessionAuthentication]

    @extend_schema(request=None, responses=responses({201: TokenSerializer}))
    def post(self, request: Request) -> Response:
        """Issue a token to the signed-in agent (for the extension). Shown only this once."""
        require_role(request.user, AGENT)
        agent = cast(User, request.user)  # require_role let only a signed-in agent through
        return Response({"token": token_issue(user=agent, label="api")}, status=201)


class CurrentToken(APIView):
    authentication_classes = [AgentTokenAuthentication]

    @extend_schema(request=None, responses=responses({204: None}))
    def delete(self, request: Request) -> Response:
        """Revoke the token this request was made with (sign-out of the extension)."""
        token_revoke(raw=parse_authorization(request.META.get("HTTP_AUTHORIZATION", "")))
        return Response(status=204)
