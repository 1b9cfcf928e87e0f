"""Values read from what the customer typed: positives, and the look-alikes that must stay out."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from assist.live.fields import (
    base_language,
    find_amount,
    find_card_ending,
    find_date,
    find_reference,
    format_date,
)
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


# --- Other languages: English plus the conversation's ----------------------------------------


@pytest.mark.parametrize(
    ("language", "base"),
    [
        ("es", "es"),
        ("es-MX", "es"),
        ("DE", "de"),
        ("de_AT", "de"),
        ("", ""),
        ("fr", ""),
        ("en", ""),
    ],
)
def test_the_base_language_read_besides_english(language, base):
    assert base_language(language) == base


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("se pagaron 25,50 € dos veces", "€25.50"),
        ("me cobraron 30 euros", "€30"),
        ("1.200,50 € abgebucht", "€1,200.50"),
        ("mir wurden 19,99 Euro berechnet", "€19.99"),
    ],
)
def test_amounts_with_a_decimal_comma_and_currency_words(text, value):
    assert find_amount(text).value == value


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("se pagaron 25,50 € dos veces", "es", "25,50 €"),
        ("me cobraron 30 euros", "es-MX", "30 €"),
        ("1.200,50 € abgebucht", "de", "1.200,50 €"),
        ("I was charged $1,200.50", "de", "1.200,50 $"),  # English read, German written
        ("I was charged $1,200.50", "es", "1\u00a0200,50 $"),
        ("mir wurden 19,99 EUR berechnet", "de", "19,99 EUR"),
        ("se pagaron 25,50 € dos veces", "fr", "€25.50"),  # no words of its own: English
        ("I was charged £1,200 twice", "", "£1,200"),
    ],
)
def test_amounts_are_written_in_the_conversation_language(text, language, value):
    assert find_amount(text, language=language).value == value


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("la compra del 3 de marzo", "es", "3 de marzo"),
        ("la compra del 3 de marzo", "es-MX", "3 de marzo"),
        ("me lo cobraron ayer", "es", "29 de noviembre"),
        ("el cargo del 12 de noviembre de 2025", "es", "12 de noviembre de 2025"),
        ("el cargo del 12/10", "es", "12 de octubre"),  # day first, as written in Spanish
        ("am 3. März habe ich bestellt", "de", "3. März"),
        ("gestern abgebucht", "de", "29. November"),
        ("die Zahlung vom 12/10", "de", "12. Oktober"),
        ("I ordered it on 3 March", "es", "3 de marzo"),  # English is read too
        ("it was on 12/10", "", "10 December 2025"),  # month first, as in English
    ],
)
def test_dates_in_the_conversation_language(text, language, value):
    assert find_date(text, sent_at=SENT, language=language).value == value


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("la compra del 3 de marzo", ""),  # Spanish words only in a Spanish conversation
        ("la compra del 3 de marzo", "de"),
        ("am 3. März habe ich bestellt", "es"),
        ("me lo cobraron ayer", "fr"),
        ("soy cliente desde 2019", "es"),
        ("necesito ayuda ahora", "es"),
        ("mayo", "es"),  # a month without a day
        ("Ich bin seit 2019 Kunde", "de"),
        ("tarjeta terminada en 4821", "es"),
    ],
)
def test_no_date_in_other_languages_where_there_is_none(text, language):
    assert find_date(text, sent_at=SENT, language=language) is None


@pytest.mark.parametrize(
    ("language", "with_year", "value"),
    [
        ("", False, "3 March"),
        ("", True, "3 March 2025"),
        ("es", False, "3 de marzo"),
        ("es", True, "3 de marzo de 2025"),
        ("de-AT", False, "3. März"),
        ("de", True, "3. März 2025"),
        ("fr", False, "3 March"),  # not read in French, so not written in French either
    ],
)
def test_a_date_is_written_in_the_conversation_language(language, with_year, value):
    assert format_date(datetime(2025, 3, 3), language, with_year=with_year) == value


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("mi tarjeta terminada en 4821", "es", "4821"),
        ("la tarjeta de crédito que termina en 0042", "es", "0042"),
        ("los últimos cuatro dígitos son 7310", "es", "7310"),
        ("últimos 4 números: 5555", "es", "5555"),
        ("meine Karte endet auf 4821", "de", "4821"),
        ("das Konto endet mit 0042", "de", "0042"),
        ("die letzten vier Ziffern sind 7310", "de", "7310"),
        ("letzten 4 Stellen 5555", "de", "5555"),
        ("my card ending in 4821", "de", "4821"),  # English is read too
    ],
)
def test_card_endings_in_the_conversation_language(text, language, value):
    assert find_card_ending(text, language=language).value == value


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("mi tarjeta terminada en 4821", ""),  # Spanish words only in a Spanish conversation
        ("meine Karte endet auf 4821", "es"),
        ("el número de mi tarjeta es 4111111111111111", "es"),  # never a full number
        ("mi tarjeta terminada en 4111111111111111", "es"),
        ("el contrato termina en 2024", "es"),  # no card or account named
        ("pagué 4821 euros", "es"),
        ("meine Kartennummer ist 4111111111111111", "de"),
        ("der Vertrag endet mit 2024", "de"),
    ],
)
def test_no_card_ending_in_other_languages_look_alikes(text, language):
    assert find_card_ending(text, language=language) is None


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("número de pedido 77812", "es", "77812"),
        ("mi pedido nº 55123 no llegó", "es", "55123"),
        ("la referencia es ab-10293", "es", "AB-10293"),
        ("reserva: RX4471", "es", "RX4471"),
        ("la transacción 99812", "es", "99812"),
        ("meine Bestellnummer 77812", "de", "77812"),
        ("Bestellung Nr. 55123 kam nie an", "de", "55123"),
        ("die Referenz lautet ab-10293", "de", "AB-10293"),
        ("Fallnummer: 4471", "de", "4471"),
        ("Buchungsnummer RX4471", "de", "RX4471"),
        ("order #A-10293", "es", "A-10293"),  # English is read too
    ],
)
def test_references_in_the_conversation_language(text, language, value):
    assert find_reference(text, language=language).value == value


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("número de pedido 77812", ""),  # Spanish words only in a Spanish conversation
        ("meine Bestellnummer 77812", "es"),
        ("quiero hacer un pedido nuevo", "es"),
        ("mi pedido nunca llegó", "es"),
        ("en caso de duda", "es"),
        ("ich möchte eine Bestellung aufgeben", "de"),
        ("im Fall 2024 war alles gut", "de"),  # a year, not a case
    ],
)
def test_no_reference_without_a_number_in_other_languages(text, language):
    assert find_reference(text, language=language) is None


@pytest.mark.django_db
def test_a_spanish_conversation_fills_its_fields_in_spanish():
    conversation = factories.ConversationFactory(customer_name="Ana Ruiz", language="es-MX")
    factories.MessageFactory(
        conversation=conversation,
        role="customer",
        text="la compra de 1.250,00 € del 3 de marzo, con mi tarjeta terminada en 4821, "
        "número de pedido 77812",
        sent_at=SENT,
    )
    template = factories.TemplateFactory(
        body="Hola {customer_first_name}: la compra de {amount} del {date} ({reference}, "
        "tarjeta {last4})."
    )
    rendered = template_render(template=template, conversation=conversation)
    # Spanish groups thousands with a (non-breaking) space, as Django's es formats do.
    assert (
        rendered.text == "Hola Ana: la compra de 1\u00a0250 € del 3 de marzo (77812, tarjeta 4821)."
    )
    assert placeholder_values(conversation).field("date").matched == "del 3 de marzo"


@pytest.mark.django_db
def test_an_english_conversation_does_not_read_spanish_words():
    conversation = factories.ConversationFactory(language="")
    factories.MessageFactory(
        conversation=conversation, role="customer", text="la compra del 3 de marzo", sent_at=SENT
    )
    assert placeholder_values(conversation).field("date") is None


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
