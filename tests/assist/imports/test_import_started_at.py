"""Imported conversations keep their real start time; one without `started_at` is flagged as
undated (stored at the import time), never passed off as dated."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from assist.models import Conversation
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_dated_conversations_keep_their_time_undated_ones_are_flagged(tmp_path):
    factories.TemplateFactory(key="card_arrival")
    turns = [
        {"role": "customer", "text": "Where is my card?"},
        {"role": "agent", "text": "On its way.", "template": "card_arrival"},
    ]
    when = "2024-03-01T09:30:00+00:00"
    path = tmp_path / "logs.jsonl"
    path.write_text(
        json.dumps({"id": "dated", "turns": turns, "started_at": when})
        + "\n"
        + json.dumps({"id": "undated", "turns": turns})
        + "\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command("import_conversations", path, stdout=out)

    dated, undated = (Conversation.objects.get(external_id=i) for i in ("dated", "undated"))
    assert dated.started_at == dt.datetime.fromisoformat(when) and dated.started_at_known
    assert not undated.started_at_known
    assert "1 conversations have no 'started_at'" in out.getvalue()
    assert "training only" in out.getvalue()


def test_review_says_an_undated_conversation_was_imported_not_started():
    conversation = factories.ConversationFactory(started_at_known=False)
    reviewer = client_for(factories.supervisor())
    page = reviewer.get(reverse("review:conversation", args=[conversation.pk])).content.decode()
    assert "without a start time" in page
    assert "(imported)" in reviewer.get(reverse("review:conversations")).content.decode()
