"""Values read from what the customer typed: positives, and the look-alikes that must stay out."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from assist.live.fields import find_amount, find_card_ending, find_date, find_reference
from assist.live.rendering import placeholder_values, template_render
from assist.live.selectors import suggestion_frame
from tests import factories

SENT = datetime(2026, 11, 30, 14, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("I was charged £25.50 twice", "£25.50"),
        ("they took $1,200 from my account", "$1,200"),
        ("a payment of 19.99 EUR", "19.99 EUR"),
        ("I paid 40 dollars for it", "$40"),
        ("€7 fee??", "€7"),
    ],
)
def test_amounts_with_a_currency(text, value):
    assert find_amount(text).value == value


@pytest.mark.parametrize(
    "text",
    ["card ending 4821", "order 12345 never came", "I was charged twice", "it took 3 days", "£"],
)
def test_numbers_without_a_currency_are_not_amounts(text):
    assert find_amount(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("I ordered it on 3 March", "3 March"),
        ("the payment on 12 November 2025 is wrong", "12 November 2025"),
        ("it was taken yesterday", "29 November"),
    ],
)
def test_dates_with_a_day_and_a_month(text, value):
    assert find_date(text, sent_at=SENT).value == value


@pytest.mark.parametrize(
    "text",
    [
        "card ending 4821",
        "please help me now",
        "I have been a customer since 2019",
        "may I ask something",
        "order 12345",
    ],
)
def test_no_date_where_there_is_none(text):
    assert find_date(text, sent_at=SENT) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("my card ending in 4821 was stolen", "4821"),
        ("it's the one that ends with 0042", "0042"),
        ("last four digits are 7310", "7310"),
        ("card **** 5555", "5555"),
    ],
)
def test_card_endings(text, value):
    assert find_card_ending(text).value == value


@pytest.mark.parametrize(
    "text",
    [
        "my card number is 4111111111111111",  # never a full number
        "I paid 4821 pounds",
        "in 2024 my card was fine",
        "card ending soon",
    ],
)
def test_no_card_ending_in_look_alikes(text):
    assert find_card_ending(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("my order #A-10293 never came", "A-10293"),
        ("reference: 77812", "77812"),
        ("the dispute number is dsp4471", "DSP4471"),
        ("Ticket no. 55123", "55123"),
    ],
)
def test_order_and_reference_numbers(text, value):
    assert find_reference(text).value == value


@pytest.mark.parametrize(
    "text", ["I want to order a new card", "my order never arrived", "for reference, thanks"]
)
def test_no_reference_without_a_number(text):
    assert find_reference(text) is None


@pytest.mark.django_db
def test_the_latest_customer_message_fills_the_template_and_says_which():
    conversation = factories.ConversationFactory(customer_name="Jo Park")
    now = timezone.now()
    factories.MessageFactory(
        conversation=conversation, role="customer", text="I paid £10", sent_at=now
    )
    latest = factories.MessageFactory(
        conversation=conversation,
        role="customer",
        text="sorry, it was £12.40 on my card ending 4821",
        sent_at=now + timedelta(seconds=5),
    )
    # An agent's words are not the customer's.
    factories.MessageFactory(
        conversation=conversation,
        role="agent",
        text="Was it £99?",
        sent_at=now + timedelta(seconds=6),
    )
    template = factories.TemplateFactory(
        body="Hi {customer_first_name}: {amount} on card {last4}, ref {reference}."
    )
    rendered = template_render(template=template, conversation=conversation)
    assert rendered.text == "Hi Jo: £12.40 on card 4821, ref [[reference]]."
    assert rendered.filled == ("customer_first_name", "amount", "last4")
    assert rendered.unfilled == ("reference",)
    fields = placeholder_values(conversation).provenance(rendered.filled)
    assert fields[0] == {"name": "customer_first_name", "value": "Jo", "source": "conversation"}
    assert fields[1] == {
        "name": "amount",
        "value": "£12.40",
        "source": "customer",
        "message": latest.pk,
        "sent_at": latest.sent_at.isoformat(),
        "matched": "£12.40",
    }


@pytest.mark.django_db
def test_a_suggestion_frame_carries_the_fields_without_reading_messages_it_does_not_need(
    django_assert_num_queries,
):
    conversation = factories.ConversationFactory(customer_name="Jo Park")
    message = factories.MessageFactory(
        conversation=conversation, role="customer", text="charged €30"
    )
    plain = factories.TemplateFactory(key="plain", body="Hello {customer_first_name}")
    typed = factories.TemplateFactory(key="typed", body="Refund of {amount} is on its way")
    suggestion = factories.SuggestionFactory(
        message=message,
        items=[{"key": "plain", "probability": 0.6, "confident": True}],
    )
    templates = {"plain": plain, "typed": typed}
    with django_assert_num_queries(0):
        frame = suggestion_frame(suggestion, sent=set(), templates=templates)
    assert frame["items"][0]["fields"] == [
        {"name": "customer_first_name", "value": "Jo", "source": "conversation"}
    ]
    suggestion.items = [{"key": "typed", "probability": 0.6, "confident": True}]
    with django_assert_num_queries(1):  # the customer's latest messages, once
        frame = suggestion_frame(suggestion, sent=set(), templates=templates)
    assert frame["items"][0]["body"] == "Refund of €30 is on its way"
    assert frame["items"][0]["fields"][0]["source"] == "customer"
    # The worker has the customer's messages at hand (the ranking read them): no query then.
    typed = [(message.pk, "it was €45 in fact", message.sent_at)]
    with django_assert_num_queries(0):
        frame = suggestion_frame(
            suggestion, sent=set(), templates=templates, customer_messages=typed
        )
    assert frame["items"][0]["body"] == "Refund of €45 is on its way"
