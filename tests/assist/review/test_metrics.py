"""Review metrics on a small constructed data set equal the values worked out by hand."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from assist.live.messages import message_ingest
from assist.live.picks import pick_record, pick_validate
from assist.models import Message
from assist.review import metrics
from tests import factories
from tests.conftest import client_for

NOW = timezone.now().replace(microsecond=0)


def reply(conversation, template, *, shown=None, rank=None, selection_ms=None, at=NOW):
    return factories.MessageFactory(
        conversation=conversation,
        role="agent",
        text="reply",
        template=template,
        shown_suggestion=shown,
        shown_model_version=shown.model_version if shown else None,
        shown_rank=rank,
        selection_ms=selection_ms,
        sent_at=at,
    )


@pytest.fixture
def data(db):
    """Four conversations in the last week, one two months ago (outside the default period).

    c1 (ann):  list s1 (v1) [A, B, C]; A inserted from rank 1; reply A, rank 1, 10 s
    c2 (ann):  list s2 (v2) [B, A, C]; nothing picked;          reply A, rank 2, 20 s
    c3 (otto): list s3 (v1) [C, A];    dismissed;                reply B, not in list, 30 s
    c4 (otto): no list (control); A found by search;             reply A, no list, 40 s; free text
    old (ann): list (v1) [A]; A sent from rank 1;                reply A, rank 1, 5 s
    """
    ann, otto = factories.agent(username="ann"), factories.agent(username="otto")
    a, b, c = (factories.TemplateFactory(key=f"t.{name}") for name in "abc")
    d = factories.TemplateFactory(key="t.d")
    factories.TemplateFactory(key="t.e_inactive", is_active=False)
    v1, v2 = factories.ModelVersionFactory(name="v1"), factories.ModelVersionFactory(name="v2")

    def conversation(agent, at=NOW):
        conv = factories.ConversationFactory(assigned_agent=agent, started_at=at)
        ask = factories.MessageFactory(conversation=conv, sent_at=at)
        return conv, ask

    c1, ask1 = conversation(ann)
    # `used` as pick_record sets it (the factories bypass the service).
    s1 = factories.SuggestionFactory(message=ask1, model_version=v1, templates=[a, b, c], used=True)
    factories.PickFactory(suggestion=s1, template=a, rank=1, time_to_pick_ms=3000)
    reply(c1, a, shown=s1, rank=1, selection_ms=10_000)

    c2, ask2 = conversation(ann)
    s2 = factories.SuggestionFactory(message=ask2, model_version=v2, templates=[b, a, c])
    reply(c2, a, shown=s2, rank=2, selection_ms=20_000)

    c3, ask3 = conversation(otto)
    s3 = factories.SuggestionFactory(message=ask3, model_version=v1, templates=[c, a])
    factories.PickFactory(suggestion=s3, action="dismissed", template=None)
    reply(c3, b, shown=s3, selection_ms=30_000)

    c4, _ = conversation(otto)
    factories.PickFactory(conversation=c4, suggestion=None, template=a, agent=otto)
    reply(c4, a, selection_ms=40_000)
    factories.MessageFactory(conversation=c4, role="agent", text="my own words", sent_at=NOW)

    long_ago = NOW - dt.timedelta(days=60)
    old, ask_old = conversation(ann, at=long_ago)
    s_old = factories.SuggestionFactory(message=ask_old, model_version=v1, templates=[a], used=True)
    s_old.__class__.objects.filter(pk=s_old.pk).update(created_at=long_ago)
    factories.PickFactory(suggestion=s_old, template=a, rank=1, action="sent", picked_at=long_ago)
    reply(old, a, shown=s_old, rank=1, selection_ms=5_000, at=long_ago)
    return {"templates": (a, b, c, d), "versions": (v1, v2)}


RECENT = metrics.Period(start=NOW - dt.timedelta(days=7), end=NOW + dt.timedelta(days=1))


def test_overview_matches_hand_computed(data):
    o = metrics.overview(RECENT)
    assert (o["lists"], o["picked_lists"]) == (3, 1)
    assert o["acceptance"] == pytest.approx(1 / 3)
    assert (o["replies"], o["with_list"], o["top1"], o["topk"]) == (4, 3, 1, 2)
    assert o["top1_rate"] == pytest.approx(1 / 3)
    assert o["topk_rate"] == pytest.approx(2 / 3)
    assert o["selection_with_ms"] == pytest.approx(20_000)
    assert o["selection_without_ms"] == pytest.approx(40_000)
    assert (o["from_list"], o["from_search"], o["dismissals"]) == (1, 1, 1)
    assert o["time_to_pick_ms"] == pytest.approx(3000)
    assert o["free_text_replies"] == 1


def test_the_period_decides_what_counts(data):
    everything = metrics.overview(metrics.Period())
    assert (everything["lists"], everything["picked_lists"]) == (4, 2)
    assert (everything["with_list"], everything["top1"]) == (4, 2)
    assert everything["selection_with_ms"] == pytest.approx((10 + 20 + 30 + 5) * 1000 / 4)


def test_per_template_and_never_used(data):
    rows = {row["template__key"]: row for row in metrics.per_template(RECENT)}
    assert set(rows) == {"t.a", "t.b"}
    a = rows["t.a"]
    assert (a["replies"], a["with_list"], a["top1"], a["topk"]) == (3, 2, 1, 2)
    assert rows["t.b"]["topk_rate"] == 0
    never = [t.key for t in metrics.never_used_templates(RECENT)]
    assert never == ["t.c", "t.d"]  # the inactive one is not a clean-up candidate
    assert "t.a" not in [t.key for t in metrics.never_used_templates(metrics.Period())]


def test_per_agent_adoption(data):
    rows = {row["agent"]: row for row in metrics.per_agent(RECENT)}
    assert (rows["ann"]["from_list"], rows["ann"]["from_search"]) == (1, 0)
    assert rows["ann"]["adoption"] == pytest.approx(1.0)
    assert rows["ann"]["time_to_pick_ms"] == pytest.approx(3000)
    otto = rows["otto"]
    assert (otto["from_list"], otto["from_search"], otto["dismissals"]) == (0, 1, 1)
    assert otto["adoption"] == 0


def test_per_model_version(data):
    rows = {row["model_version"]: row for row in metrics.per_model_version(RECENT)}
    assert (rows["v1"]["lists"], rows["v1"]["picked_lists"]) == (2, 1)
    assert (rows["v1"]["with_list"], rows["v1"]["top1"], rows["v1"]["topk"]) == (2, 1, 1)
    assert (rows["v2"]["lists"], rows["v2"]["top1_rate"], rows["v2"]["topk_rate"]) == (1, 0, 1)
    assert rows["v1"]["selection_with_ms"] == pytest.approx(20_000)


def test_dashboard_page_shows_them_in_few_queries(data, django_assert_max_num_queries):
    user = factories.supervisor(username="sue")
    client = client_for(user)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("review:dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "33.3%" in body  # acceptance and top-1
    assert "66.7%" in body  # top-K
    assert "20.0 s" in body and "40.0 s" in body
    assert "<svg" in body and "<script" not in body
    old = client.get(reverse("review:dashboard"), {"from": "2000-01-01"}).content.decode()
    assert "50.0%" in old  # 2 of 4 lists


def test_a_templated_reply_records_the_list_rank_and_selection_time(db):
    conversation = factories.ConversationFactory()
    a, b = factories.TemplateFactory(), factories.TemplateFactory()
    agent = conversation.assigned_agent
    ask = message_ingest(
        conversation_id=conversation.pk, sender=agent, role="customer", text="hi", client_id="1"
    )
    asked_at = NOW - dt.timedelta(seconds=7, milliseconds=250)
    Message.objects.filter(pk=ask.message.pk).update(sent_at=asked_at)
    shown = factories.SuggestionFactory(message=ask.message, templates=[a, b])
    sent = message_ingest(
        conversation_id=conversation.pk,
        sender=agent,
        role="agent",
        text="x",
        client_id="2",
        template_key=b.key,
    ).message
    sent.refresh_from_db()
    assert (sent.shown_suggestion, sent.shown_rank) == (shown, 2)
    assert sent.shown_model_version == shown.model_version
    assert sent.selection_ms == round((sent.sent_at - asked_at).total_seconds() * 1000)
    free = message_ingest(
        conversation_id=conversation.pk, sender=agent, role="agent", text="y", client_id="3"
    ).message
    assert (free.shown_rank, free.selection_ms) == (None, None)


@pytest.mark.parametrize(
    ("action", "used"), [("inserted", True), ("sent", True), ("dismissed", False)]
)
def test_storing_a_pick_marks_its_list_used(db, action, used):
    template = factories.TemplateFactory()
    shown = factories.SuggestionFactory(templates=[template])
    request = pick_validate(
        conversation=shown.conversation,
        agent_id=shown.conversation.assigned_agent_id,
        suggestion_id=shown.pk,
        template_key=None if action == "dismissed" else template.key,
        rank=None if action == "dismissed" else 1,
        action=action,
        client_id=f"p-{action}",
    )
    pick_record(request=request)
    shown.refresh_from_db()
    assert shown.used is used
    assert metrics.overview(metrics.Period())["picked_lists"] == int(used)
