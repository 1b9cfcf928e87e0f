"""The review data generator writes consistent rows (small sizes, on the test database)."""

import io

from django.core.management import call_command

from assist.models import Conversation, Message, Pick, Suggestion
from assist.review import metrics


def test_generated_rows_are_consistent(db):
    call_command("generate_review_data", conversations=30, picks=120, stdout=io.StringIO())
    assert Conversation.objects.count() == 30
    assert Pick.objects.count() == 120
    for message in Message.objects.filter(shown_rank__isnull=False).select_related(
        "template", "shown_suggestion"
    ):
        keys = [item["key"] for item in message.shown_suggestion.items]
        assert keys[message.shown_rank - 1] == message.template.key
    for pick in Pick.objects.filter(rank__isnull=False).select_related("suggestion", "template"):
        assert pick.suggestion.items[pick.rank - 1]["key"] == pick.template.key
    control = Conversation.objects.filter(experiment_arm__model_version__isnull=True)
    assert not Suggestion.objects.filter(conversation__in=control).exists()
    overview = metrics.overview(metrics.Period())
    assert overview["lists"] == Suggestion.objects.count()
    # A second run adds to the first instead of colliding with it.
    call_command("generate_review_data", conversations=5, picks=10, stdout=io.StringIO())
    assert Pick.objects.count() == 130
