"""REST adapters: parse, check access (assist.access), call a selector or service, serialize."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assist.access import conversation_for_user, conversations_visible_to, require_role
from assist.api.serializers import (
    ConversationDetailSerializer,
    ConversationSerializer,
    ModelVersionSerializer,
    TemplateSerializer,
)
from assist.models import Conversation, Message, ModelVersion
from assist.roles import AGENT, CATALOG_ADMIN, SUPERVISOR
from templates_app.models import ResponseTemplate
from templates_app.selectors import template_search


class ConversationList(generics.ListAPIView):
    """Conversations the caller may see: an agent's own, or all for a supervisor."""

    serializer_class = ConversationSerializer

    @extend_schema(
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=["open", "closed"])]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Conversation]:
        conversations = conversations_visible_to(self.request.user).select_related("assigned_agent")
        status = self.request.query_params.get("status")
        if status:
            conversations = conversations.filter(status=status)
        return conversations


class ConversationDetail(APIView):
    @extend_schema(responses=ConversationDetailSerializer)
    def get(self, request: Request, conversation_id: int) -> Response:
        conversation = conversation_for_user(request.user, conversation_id)
        messages = Message.objects.select_related("template")
        conversation = (
            Conversation.objects.select_related("assigned_agent")
            .prefetch_related(Prefetch("messages", queryset=messages))
            .get(pk=conversation.pk)
        )
        return Response(ConversationDetailSerializer(conversation).data)


class TemplateList(generics.ListAPIView):
    """Active templates matching every word of `q`: the catalog search behind the panel."""

    serializer_class = TemplateSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR),
            OpenApiParameter("category", OpenApiTypes.STR),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ResponseTemplate]:
        require_role(self.request.user, AGENT, CATALOG_ADMIN, SUPERVISOR)
        params = self.request.query_params
        return template_search(query=params.get("q", ""), category=params.get("category", ""))


class ModelVersionList(generics.ListAPIView):
    serializer_class = ModelVersionSerializer

    def get_queryset(self) -> QuerySet[ModelVersion]:
        require_role(self.request.user, SUPERVISOR, CATALOG_ADMIN)
        return ModelVersion.objects.all()
