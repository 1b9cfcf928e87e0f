"""seed_demo's four weeks of usage: written once, and enough for the review pages to show."""

import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from assist.demo.usage import EXPERIMENT
from assist.models import Conversation, Experiment, Message, Pick, Suggestion
from assist.review import metrics
from assist.review.selectors import with_counts
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def seed() -> None:
    call_command("seed_demo", conversations=80, force=True, stdout=io.StringIO())


def counts() -> tuple[int, ...]:
    return (
        Suggestion.objects.count(),
        Pick.objects.count(),
        Message.objects.filter(selection_ms__isnull=False).count(),
        Experiment.objects.count(),
    )


def test_seeding_twice_writes_the_usage_once():
    seed()
    first = counts()
    assert all(first), first
    seed()
    assert counts() == first


def test_the_demo_tells_a_story_on_every_review_page():
    seed()
    client = client_for(factories.supervisor(username="sue"))
    body = client.get(reverse("review:dashboard")).content.decode()
    selection_chart = body.split("Mean template selection time per day", 2)[2].split("</svg>")[0]
    lines = re.findall(r'<polyline [^>]*points="([^"]+)"', selection_chart)
    # Both series, with and without suggestions, drawn as lines over several days.
    assert len(lines) >= 2 and all(len(points.split()) > 1 for points in lines)

    overview = metrics.overview(metrics.Period())
    assert overview["n_with"] and overview["n_without"]
    assert overview["selection_with_ms"] < overview["selection_without_ms"]
    assert overview["edited_replies"] and overview["rejections"] and overview["dismissals"]
    assert 0 < overview["picked_lists"] <= overview["lists"]
    for row in with_counts(Conversation.objects.all()):
        assert row.n_used <= row.n_lists

    experiment = Experiment.objects.get(name=EXPERIMENT)
    assert experiment.ended_at is not None
    assert experiment.arms.filter(model_version__isnull=True).exists()  # a control arm
    page = client.get(reverse("review:experiment", args=[experiment.pk])).content.decode()
    assert "control" in page and "Not enough data to compare arms yet" not in page
