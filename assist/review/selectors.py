"""Reads for supervisor review: the filtered conversation list, its CSV rows, one timeline."""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from assist.labels import counts_as_sent, sent_template_q
from assist.models import Conversation, ExperimentArm, Message, ModelVersion, Pick, Suggestion
from assist.roles import AGENT
from templates_app.models import ResponseTemplate

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

USED = [Pick.Action.INSERTED, Pick.Action.SENT]


class ConversationFilter(forms.Form):
    """The list's filters, from the query string; every field is optional."""

    agent = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(groups__name=AGENT).order_by("username"),
        required=False,
        to_field_name="username",
    )
    date_from = forms.DateField(required=False, label="Started from")
    date_to = forms.DateField(required=False, label="Started to (inclusive)")
    status = forms.ChoiceField(required=False, choices=[("", "any"), *Conversation.Status.choices])
    channel = forms.CharField(required=False, max_length=32)
    template = forms.CharField(required=False, max_length=255, label="Template sent (key)")
    suggestion_used = forms.ChoiceField(
        required=False,
        choices=[("", "any"), ("yes", "a suggestion was used"), ("no", "no suggestion used")],
    )
    model_version = forms.ModelChoiceField(
        queryset=ModelVersion.objects.order_by("name"), required=False, to_field_name="name"
    )
    arm = forms.ModelChoiceField(
        queryset=ExperimentArm.objects.select_related("experiment").order_by("experiment", "pk"),
        required=False,
        label="Experiment arm",
    )

    def apply(self, conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
        """`conversations` narrowed by the valid filters (call is_valid() first)."""
        data = self.cleaned_data
        if data.get("agent"):
            conversations = conversations.filter(assigned_agent=data["agent"])
        if data.get("date_from"):
            conversations = conversations.filter(started_at__gte=_day_start(data["date_from"]))
        if data.get("date_to"):
            end = _day_start(data["date_to"]) + dt.timedelta(days=1)
            conversations = conversations.filter(started_at__lt=end)
        if data.get("status"):
            conversations = conversations.filter(status=data["status"])
        if data.get("channel"):
            conversations = conversations.filter(channel=data["channel"])
        if data.get("template"):
            conversations = conversations.filter(
                Exists(
                    Message.objects.filter(
                        sent_template_q(),
                        conversation=OuterRef("pk"),
                        template__key=data["template"],
                    )
                )
            )
        used = Exists(
            Pick.objects.filter(
                conversation=OuterRef("pk"), suggestion__isnull=False, action__in=USED
            )
        )
        if data.get("suggestion_used") == "yes":
            conversations = conversations.filter(used)
        elif data.get("suggestion_used") == "no":
            conversations = conversations.filter(~used)
        if data.get("model_version"):
            conversations = conversations.filter(
                Exists(
                    Suggestion.objects.filter(
                        conversation=OuterRef("pk"), model_version=data["model_version"]
                    )
                )
            )
        if data.get("arm"):
            conversations = conversations.filter(experiment_arm=data["arm"])
        return conversations


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _count(queryset: QuerySet[Any]) -> Coalesce:
    """A correlated COUNT over `queryset`, which must filter on OuterRef("pk")."""
    counted = queryset.order_by().values("conversation").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


class ConversationCounts(TypedDict):
    """What with_counts adds to each conversation."""

    n_messages: int
    n_lists: int
    n_used: int
    n_templated: int


def with_counts(
    conversations: QuerySet[Conversation],
) -> "QuerySet[WithAnnotations[Conversation, ConversationCounts]]":
    """Per row: messages, suggestion lists, lists used, templated replies.

    Correlated subqueries, so a page of 50 rows costs 50 index lookups each, not a scan.
    """
    mine = {"conversation": OuterRef("pk")}
    return conversations.select_related("assigned_agent", "experiment_arm__experiment").annotate(
        n_messages=_count(Message.objects.filter(**mine)),
        n_lists=_count(Suggestion.objects.filter(**mine)),
        # Lists used, like the dashboard's acceptance: a list counts once however many picks
        # (inserted, then sent; several templates) were taken from it, so never above n_lists.
        n_used=_count(Suggestion.objects.filter(**mine, used=True)),
        n_templated=_count(Message.objects.filter(sent_template_q(), **mine)),
    )


EXPORT_COLUMNS = [
    "id",
    "channel",
    "external_id",
    "agent",
    "started_at",
    "status",
    "experiment",
    "arm",
    "messages",
    "suggestion_lists",
    "suggestions_used",
    "templated_replies",
]


def export_rows(conversations: QuerySet[Conversation]) -> Iterator[list[Any]]:
    """The CSV rows (header first) for the filtered conversations, streamed from the server."""
    yield EXPORT_COLUMNS
    for c in with_counts(conversations).order_by("-started_at", "-id").iterator(chunk_size=2000):
        arm = c.experiment_arm
        yield [
            c.pk,
            c.channel,
            c.external_id,
            c.assigned_agent.get_username() if c.assigned_agent else "",
            c.started_at.isoformat(),
            c.status,
            arm.experiment.name if arm else "",
            arm.name if arm else "",
            c.n_messages,
            c.n_lists,
            c.n_used,
            c.n_templated,
        ]


@dataclass
class ShownItem:
    rank: int
    key: str
    title: str
    probability: float | None
    confident: bool
    picks: list[Pick] = field(default_factory=list)  # inserted or sent from this rank
    rejections: list[Pick] = field(default_factory=list)  # "not this one"
    sent: bool = False  # the agent's next templated reply was this one


@dataclass
class TimelineEntry:
    kind: str  # "message" or "search_pick"
    at: dt.datetime
    message: Message | None = None
    suggestion: Suggestion | None = None
    items: list[ShownItem] = field(default_factory=list)
    dismissed: list[Pick] = field(default_factory=list)
    pick: Pick | None = None


def conversation_timeline(conversation: Conversation) -> list[TimelineEntry]:
    """Every message, each suggestion list as the agent saw it (beside the customer message
    it answered), what was picked from it and when, and picks found by search. Five queries.
    """
    messages = list(conversation.messages.select_related("template").order_by("sent_at", "id"))
    suggestions = {
        s.message_id: s for s in conversation.suggestions.select_related("model_version")
    }
    picks = list(conversation.picks.select_related("template", "agent").order_by("picked_at"))
    keys = {item["key"] for s in suggestions.values() for item in s.items}
    titles = dict(ResponseTemplate.objects.filter(key__in=keys).values_list("key", "title"))
    picks_by_list: dict[int, list[Pick]] = {}
    for pick in picks:
        if pick.suggestion_id is not None:
            picks_by_list.setdefault(pick.suggestion_id, []).append(pick)
    sent = {
        (m.shown_suggestion_id, m.shown_rank)
        for m in messages
        if m.shown_rank and counts_as_sent(m.template_id, m.edit_similarity)
    }

    entries = []
    for message in messages:
        entry = TimelineEntry(kind="message", at=message.sent_at, message=message)
        suggestion = suggestions.get(message.pk)
        if suggestion is not None:
            entry.suggestion = suggestion
            on_list = picks_by_list.get(suggestion.pk, [])
            entry.dismissed = [p for p in on_list if p.action == Pick.Action.DISMISSED]
            for rank, item in enumerate(suggestion.items, start=1):
                entry.items.append(
                    ShownItem(
                        rank=rank,
                        key=item["key"],
                        title=titles.get(item["key"], item["key"]),
                        probability=item.get("probability"),
                        confident=bool(item.get("confident")),
                        picks=[p for p in on_list if p.rank == rank and p.action in USED],
                        rejections=[
                            p
                            for p in on_list
                            if p.rank == rank and p.action == Pick.Action.REJECTED
                        ],
                        sent=(suggestion.pk, rank) in sent,
                    )
                )
        entries.append(entry)
    entries += [
        TimelineEntry(kind="search_pick", at=p.picked_at, pick=p)
        for p in picks
        if p.suggestion_id is None and p.action != Pick.Action.DISMISSED
    ]
    entries.sort(key=lambda e: e.at)
    return entries
