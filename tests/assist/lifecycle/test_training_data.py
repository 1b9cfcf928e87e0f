"""Training data out of the logs: personal data scrubbed, labels from what was sent, time split."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from assist.lifecycle.pii import pii_scrub
from assist.lifecycle.training_data import conversations_split_by_time, conversations_write_jsonl
from assist.models import Conversation
from ranker.data import read_conversations
from tests import factories


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("write to jane.doe+bank@example.co.uk please", "write to [email] please"),
        ("card 4111 1111 1111 1111 was declined", "card [card] was declined"),
        ("card 4111-1111-1111-1111", "card [card]"),
        ("call me on +44 20 7946 0958", "call me on [phone]"),
        ("or (555) 123-4567 after six", "or [phone] after six"),
        ("my number is 020 7946 0958", "my number is [phone]"),
        ("account 12345678, sort code 20-00-00", "account [account], sort code [account]"),
        ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "IBAN [account] thanks"),
    ],
)
def test_personal_data_is_replaced_by_tags(text: str, scrubbed: str) -> None:
    assert pii_scrub(text) == scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "I paid 25 dollars on 12/05 for 3 items",
        "it arrived on 2024-05-01 at 10:30",
        "my PIN has 4 digits and I tried 3 times",
        "",
    ],
)
def test_ordinary_text_and_numbers_are_kept(text: str) -> None:
    assert pii_scrub(text) == text


@pytest.mark.django_db
def test_export_scrubs_text_and_labels_agent_turns_with_the_sent_template(tmp_path) -> None:
    template = factories.TemplateFactory(key="card_declined")
    conversation = factories.ConversationFactory()
    start = timezone.now()
    factories.MessageFactory(
        conversation=conversation,
        role="customer",
        text="my card 4111 1111 1111 1111 fails, mail me at a.b@example.com",
        sent_at=start,
    )
    factories.MessageFactory(
        conversation=conversation,
        role="agent",
        text="Sorry about the declined card.",
        template=template,
        sent_at=start + dt.timedelta(seconds=5),
    )
    factories.MessageFactory(
        conversation=conversation,
        role="agent",
        text="Anything else? Call 020 7946 0958",
        sent_at=start + dt.timedelta(seconds=9),
    )
    factories.MessageFactory(
        conversation=conversation, role="system", text="agent joined", sent_at=start
    )

    out = tmp_path / "train.jsonl"
    assert conversations_write_jsonl(Conversation.objects.all(), out) == 1

    raw = out.read_text()
    for secret in ("4111", "a.b@example.com", "7946"):
        assert secret not in raw
    turns = json.loads(raw)["turns"]
    assert turns == [
        {"role": "customer", "text": "my card [card] fails, mail me at [email]"},
        {"role": "agent", "text": "Sorry about the declined card.", "template": "card_declined"},
        {"role": "agent", "text": "Anything else? Call [phone]", "template": None},
    ]
    # What the export writes is what the ranker reads.
    (read,) = read_conversations(out)
    assert [turn.template for turn in read.turns] == [None, "card_declined", None]


@pytest.mark.django_db
def test_time_split_trains_on_the_past_stops_on_dev_and_compares_on_the_newest() -> None:
    base = timezone.now() - dt.timedelta(days=30)
    days = (5, 1, 9, 3, 7, 2, 8, 4, 6, 0)
    conversations = [
        factories.ConversationFactory(started_at=base + dt.timedelta(days=day)) for day in days
    ]
    # An undated import, stored at the import time (now): the newest by `started_at`, and yet
    # it must not be taken for the newest conversation.
    undated = factories.ConversationFactory(started_at=timezone.now(), started_at_known=False)

    split = conversations_split_by_time(
        Conversation.objects.all(), dev_fraction=0.2, test_fraction=0.2
    )

    by_day = {day: c.pk for day, c in zip(days, conversations, strict=True)}
    assert {c.pk for c in split.test} == {by_day[9], by_day[8]}
    assert {c.pk for c in split.dev} == {by_day[7], by_day[6]}
    assert {c.pk for c in split.train} == {by_day[d] for d in range(6)} | {undated.pk}
    assert split.undated == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("dev", "test"), [(0.0, 0.1), (0.1, 0.0), (0.5, 0.5)])
def test_time_split_refuses_fractions_that_leave_no_split(dev, test) -> None:
    with pytest.raises(ValueError, match="fractions"):
        conversations_split_by_time(
            Conversation.objects.all(), dev_fraction=dev, test_fraction=test
        )
