"""Output shapes of the REST API (the input shapes arrive with the live-suggestion endpoints)."""

from rest_framework import serializers

from assist.models import Conversation, Message, ModelVersion
from templates_app.models import ResponseTemplate


class MessageSerializer(serializers.ModelSerializer):
    template = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = Message
        fields = ["id", "role", "text", "sent_at", "template", "client_id"]


class ConversationSerializer(serializers.ModelSerializer):
    assigned_agent = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "external_id",
            "channel",
            "assigned_agent",
            "customer_name",
            "status",
            "started_at",
            "ended_at",
        ]


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]


class TemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResponseTemplate
        fields = ["key", "title", "body", "category", "locale", "is_active"]


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "name", "base_model", "metrics", "is_active", "created_at", "activated_at"]
