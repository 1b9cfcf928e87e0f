"""Output shapes of the REST API (the input shapes arrive with the live-suggestion endpoints)."""

from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers

from assist.models import Conversation, Message, ModelVersion
from templates_app.models import LOCALE_PATTERN, ResponseTemplate
from templates_app.variants import TemplateText, template_text


class MessageSerializer(serializers.ModelSerializer):
    # Null for free text (no template).
    template: serializers.SlugRelatedField[ResponseTemplate] = serializers.SlugRelatedField(
        slug_field="key", read_only=True, allow_null=True
    )

    class Meta:
        model = Message
        fields = ["id", "role", "text", "sent_at", "template", "client_id"]


class ConversationSerializer(serializers.ModelSerializer):
    assigned_agent: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    # Blank until someone or something decides; said in the schema's enum, which a model
    # field's choices alone would leave out.
    language_source = serializers.ChoiceField(
        choices=[("", "not known yet"), *Conversation.LanguageSource.choices], read_only=True
    )

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
            # The customer's language (blank: not known yet) and who decided it: detected,
            # helpdesk or agent (assist/languages.py).
            "language",
            "language_source",
        ]
        read_only_fields = ["language", "language_source"]


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]


class TemplateSerializer(serializers.ModelSerializer):
    """A key and its text. With `locale` and `variants` in the context (TemplateList with
    `?locale=`), the text in that locale where the key has one, else its own with `fallback`
    true (templates_app/variants.py, the rule the panel follows)."""

    fallback = serializers.SerializerMethodField()

    class Meta:
        model = ResponseTemplate
        fields = ["key", "title", "body", "category", "locale", "fallback", "is_active"]

    def get_fallback(self, template: ResponseTemplate) -> bool:
        return self._text(template).fallback

    def to_representation(self, instance: ResponseTemplate) -> dict[str, Any]:
        data = super().to_representation(instance)
        text = self._text(instance)
        data.update(title=text.title, body=text.body, locale=text.locale)
        return data

    def _text(self, template: ResponseTemplate) -> TemplateText:
        variants = self.context.get("variants", {})
        return template_text(
            template, variants.get(template.key, {}), self.context.get("locale", "")
        )


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "name", "base_model", "metrics", "is_active", "created_at", "activated_at"]


class ConversationOpenSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=200)
    channel = serializers.CharField(max_length=32, required=False, default="chat")
    customer_name = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    # The helpdesk's word on the customer's language (e.g. es, pt-BR): an override that
    # detection never replaces. Absent: detected from the customer's messages.
    language = serializers.CharField(max_length=16, required=False, allow_blank=True)
    # The agent a new conversation is assigned to, by username: required of a service account
    # (role integration); an agent may only name themselves (assist/access.py).
    assignee = serializers.CharField(max_length=150, required=False)


class ConversationUpdateSerializer(serializers.Serializer):
    # Blank hands the choice back to detection.
    language = serializers.CharField(max_length=16, allow_blank=True)


class ConversationFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["open", "closed"], required=False)


class TemplateQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    category = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    # Search the keys' texts in this locale (the conversation's language) besides their own;
    # blank or absent: every locale's.
    locale = serializers.RegexField(
        LOCALE_PATTERN,
        max_length=16,
        required=False,
        default="",
        allow_blank=True,
        error_messages={"invalid": "locale must be a code such as es or pt-BR"},
    )


class PickReferenceSerializer(serializers.Serializer):
    client_id = serializers.CharField(max_length=64)
    template = serializers.CharField()
    suggestion = serializers.IntegerField(allow_null=True, min_value=1)


class MessageInSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["customer", "agent"])
    text = serializers.CharField(trim_whitespace=False)
    client_id = serializers.CharField(max_length=64)
    template = serializers.CharField(required=False, allow_null=True, default=None)
    # The pick the reply was sent after (docs/protocol.md); the service checks it is the
    # caller's, in this conversation, of a template on that list (assist/live/messages.py).
    pick = PickReferenceSerializer(required=False, allow_null=True, default=None)


class PickInSerializer(serializers.Serializer):
    conversation = serializers.IntegerField()
    suggestion = serializers.IntegerField(allow_null=True)
    template = serializers.CharField(allow_null=True)
    rank = serializers.IntegerField(allow_null=True, min_value=1)
    action = serializers.ChoiceField(choices=["inserted", "sent", "dismissed", "rejected"])
    client_id = serializers.CharField(max_length=64)
    time_to_pick_ms = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class AckSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client_id = serializers.CharField()
    created = serializers.BooleanField()


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class SuggestionItemSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    unfilled = serializers.ListField(child=serializers.CharField())
    probability = serializers.FloatField(allow_null=True)
    confident = serializers.BooleanField()
    already_sent = serializers.BooleanField()
    # The text's locale; `fallback`: the conversation's language has no text for this key, so
    # this is the key's own (default-locale) text.
    locale = serializers.CharField()
    fallback = serializers.BooleanField()


class LanguageSerializer(serializers.Serializer):
    code = serializers.CharField(allow_blank=True)
    # The frame's key, though `source` is also a Field attribute: the serializer's metaclass
    # takes declared fields off the class, so the two never meet.
    source = serializers.CharField(allow_blank=True)  # type: ignore[assignment]
    # False: the conversation is in a language the serving model was not trained on.
    in_model = serializers.BooleanField()


class SuggestionFrameSerializer(serializers.Serializer):
    conversation = serializers.IntegerField()
    suggestion = serializers.IntegerField()
    seq = serializers.IntegerField()
    message = serializers.IntegerField()
    model_version = serializers.CharField(allow_null=True)
    language = LanguageSerializer()
    items = SuggestionItemSerializer(many=True)
