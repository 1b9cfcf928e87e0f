"""The conversation list's filters, its CSV export (parsed back and compared with the
database), and the timeline."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from assist.models import Conversation, Experiment, ExperimentArm, Message, Suggestion
from tests import factories
from tests.conftest import client_for

DAY = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def supervisor_client(db):
    return client_for(factories.supervisor(username="sue"))


@pytest.fixture
def conversations(db):
    ann, otto = factories.agent(username="ann"), factories.agent(username="otto")
    a, b = factories.TemplateFactory(key="t.a"), factories.TemplateFactory(key="t.b")
    v1 = factories.ModelVersionFactory(name="v1")
    experiment = Experiment.objects.create(name="exp")
    control = ExperimentArm.objects.create(experiment=experiment, name="control")
    made = {}
    # Awkward text on purpose: commas, quotes, a line break, non-ASCII.
    made["used"] = factories.ConversationFactory(
        assigned_agent=ann, external_id='T-1, "quoted"\nline two é', started_at=DAY
    )
    ask = factories.MessageFactory(conversation=made["used"], sent_at=DAY)
    shown = factories.SuggestionFactory(message=ask, model_version=v1, templates=[a, b])
    factories.PickFactory(suggestion=shown, template=a, rank=1, time_to_pick_ms=1200)
    Suggestion.objects.filter(pk=shown.pk).update(used=True)  # as the pick service does
    factories.MessageFactory(
        conversation=made["used"], role="agent", template=a, shown_suggestion=shown, shown_rank=1
    )
    made["dismissed"] = factories.ConversationFactory(
        assigned_agent=otto, channel="email", started_at=DAY - dt.timedelta(days=3)
    )
    ask = factories.MessageFactory(conversation=made["dismissed"])
    shown = factories.SuggestionFactory(message=ask, templates=[b])
    factories.PickFactory(suggestion=shown, action="dismissed", template=None)
    factories.MessageFactory(conversation=made["dismissed"], role="agent", text="own words")
    made["control"] = factories.ConversationFactory(
        assigned_agent=otto, experiment_arm=control, started_at=DAY + dt.timedelta(days=1)
    )
    factories.MessageFactory(conversation=made["control"], role="agent", template=b)
    return made


def export(client, **filters) -> list[dict[str, str]]:
    response = client.get(reverse("review:export"), filters)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_export_round_trips_to_the_database(supervisor_client, conversations):
    rows = export(supervisor_client)
    assert len(rows) == Conversation.objects.count() == 3
    for row in rows:
        c = Conversation.objects.get(pk=int(row["id"]))
        assert row["external_id"] == c.external_id
        assert row["channel"] == c.channel
        assert row["agent"] == c.assigned_agent.username
        assert dt.datetime.fromisoformat(row["started_at"]) == c.started_at
        assert row["arm"] == (c.experiment_arm.name if c.experiment_arm else "")
        assert int(row["messages"]) == Message.objects.filter(conversation=c).count()
        assert int(row["suggestion_lists"]) == Suggestion.objects.filter(conversation=c).count()
        used = Suggestion.objects.filter(conversation=c, used=True)
        assert int(row["suggestions_used"]) == used.count()
        templated = Message.objects.filter(conversation=c, template__isnull=False)
        assert int(row["templated_replies"]) == templated.count()
    assert [int(r["id"]) for r in rows] == list(
        Conversation.objects.order_by("-started_at", "-id").values_list("pk", flat=True)
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"agent": "otto"}, {"dismissed", "control"}),
        ({"channel": "email"}, {"dismissed"}),
        ({"template": "t.b"}, {"control"}),
        ({"suggestion_used": "yes"}, {"used"}),
        ({"suggestion_used": "no"}, {"dismissed", "control"}),
        ({"model_version": "v1"}, {"used"}),
        ({"date_from": "2026-03-10", "date_to": "2026-03-10"}, {"used"}),
        ({"date_from": "2026-03-10"}, {"used", "control"}),
    ],
)
def test_filters_select_the_same_conversations_in_the_list_and_the_export(
    supervisor_client, conversations, filters, expected
):
    wanted = {conversations[name].pk for name in expected}
    assert {int(row["id"]) for row in export(supervisor_client, **filters)} == wanted
    page = supervisor_client.get(reverse("review:conversations"), filters)
    assert {c.pk for c in page.context["page"]} == wanted


def test_the_arm_filter(supervisor_client, conversations):
    arm = ExperimentArm.objects.get()
    assert [int(r["id"]) for r in export(supervisor_client, arm=arm.pk)] == [
        conversations["control"].pk
    ]


def test_an_invalid_filter_selects_nothing(supervisor_client, conversations):
    assert export(supervisor_client, date_from="not a date") == []


def test_the_timeline_shows_the_list_the_pick_and_the_own_reply(supervisor_client, conversations):
    used = supervisor_client.get(reverse("review:conversation", args=[conversations["used"].pk]))
    body = used.content.decode()
    assert "Suggestion list #" in body and "t.b" in body
    assert "inserted by ann after 1200 ms" in body
    assert "rank 1 in the list shown" in body
    dismissed = supervisor_client.get(
        reverse("review:conversation", args=[conversations["dismissed"].pk])
    ).content.decode()
    assert "dismissed" in dismissed and "own reply (no template)" in dismissed


def test_the_list_page_costs_a_fixed_number_of_queries(
    supervisor_client, conversations, django_assert_max_num_queries
):
    for _ in range(20):
        factories.ConversationFactory(started_at=timezone.now())
    with django_assert_max_num_queries(10):
        assert supervisor_client.get(reverse("review:conversations")).status_code == 200
