"""Personal data out of what is learned and what is sent: each kind found, ordinary text kept, and
nothing unscrubbed in a training file or in a request to the external re-ranker."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from assist.lifecycle.pii import pii_scrub
from assist.lifecycle.training_data import conversations_write_jsonl
from assist.live.suggestions import suggestion_create
from assist.models import Conversation
from tests import factories
from tests.tiny_models import DEMO_CATALOG

NAMES = ["Maria Gonzalez", "Sam", "Okafor"]  # the customer's, the agent's first and last


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        # Names: the conversation's own (whole, in parts, in any case), and others by the model.
        ("Hi, this is Maria Gonzalez", "Hi, this is [name]"),
        (
            "Thanks maria, I'll check that for you. - Sam Okafor",
            "Thanks [name], I'll check that for you. - [name]",
        ),
        ("My husband John Smith placed the order", "My husband [name] placed the order"),
        # Street addresses.
        ("I live at 221B Baker Street now", "I live at [address] now"),
        ("send it to 42 elm rd, apt 4", "send it to [address]"),
        ("ship to PO Box 1234", "ship to [address]"),
        # Postcodes: UK, Canadian, US after a state code or the word.
        ("my postcode is NW1 6XE", "my postcode is [postcode]"),
        ("it's sw1a 1aa", "it's [postcode]"),
        ("Ottawa K1A 0B1", "Ottawa [postcode]"),
        ("Springfield, IL 62704", "Springfield, IL [postcode]"),
        ("my zip is 94107", "my zip is [postcode]"),
        # Dates of birth: after the words, or any full date before 2010.
        ("my date of birth is 14/07/1985", "my date of birth is [dob]"),
        ("DOB: 2011-04-03", "DOB: [dob]"),
        ("I was born on 3rd March 2012", "I was born on [dob]"),
        ("that's me, 12 May 1979", "that's me, [dob]"),
        # ID-like codes.
        ("passport P1234567 expired", "passport [id] expired"),
        ("NI number AB123456C", "NI number [id]"),
        ("order ORD-88213 is late", "order [id] is late"),
        # Shapes the regexes always caught.
        ("write to jane.doe+bank@example.co.uk please", "write to [email] please"),
        ("call me on +44 20 7946 0958", "call me on [phone]"),
        ("or (555) 123-4567 after six", "or [phone] after six"),
        ("card 4111 1111 1111 1111 was declined", "card [card] was declined"),
        ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "IBAN [account] thanks"),
        ("account 12345678, sort code 20-00-00", "account [account], sort code [account]"),
    ],
)
def test_each_kind_of_personal_data_becomes_its_tag(text: str, scrubbed: str) -> None:
    assert pii_scrub(text, known_names=NAMES) == scrubbed


@pytest.mark.parametrize(
    "text",
    [
        # Product words and plans.
        "The Pixel 8 Pro with a USB-C charger on the premium plan",
        "my iPhone 15 will not pair with the router",
        # Amounts and counts.
        "I paid $499.99 and then 25 dollars for 3 items",
        "the refund of 1,250 EUR",
        # The catalog's placeholders, as templates are written.
        "Hello {customer_first_name}, we refunded [[amount]] to your card.",
        "Your order {order_id} ships within [[days]] days.",
        # Ordinary dates say when, not who.
        "it arrived yesterday, not on Monday",
        "I ordered on 12/05 and it came on 2024-05-01 at 10:30",
        "delivered on 3 March 2025",
        # Words that are also street suffixes.
        "3 days on the way, in place of the old one",
        # Tags already in scrubbed text stay as they are.
        "my card [card] fails, mail me at [email]",
        "",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert pii_scrub(text, known_names=NAMES) == text


def test_short_name_parts_are_not_scrubbed_as_words() -> None:
    # "de" of "Ana de Souza" is a particle: replacing it everywhere would scrub words.
    assert pii_scrub("Ana de Souza asked", known_names=["Ana de Souza"]) == "[name] asked"
    assert pii_scrub("a piece of the order", known_names=["A"]) == "a piece of the order"


# Everything personal a conversation below carries; none of it may reach a file or an endpoint.
SECRETS = (
    "Maria",
    "Gonzalez",
    "Okafor",
    "Baker",
    "NW1 6XE",
    "14/07/1985",
    "P1234567",
    "maria.g@example.com",
    "7946",
    "4111",
)
CUSTOMER_TEXT = (
    "I'm Maria Gonzalez, 221B Baker Street, London NW1 6XE, born 14/07/1985, passport "
    "P1234567, maria.g@example.com, 020 7946 0958, card 4111 1111 1111 1111 was declined. "
    # Lower case, as customers type: only the conversation's known names catch these.
    "okafor said to write, thanks, maria"
)


@pytest.mark.django_db
def test_nothing_unscrubbed_reaches_a_training_file(tmp_path) -> None:
    agent = factories.agent(username="agent_sam", first_name="Sam", last_name="Okafor")
    conversation = factories.ConversationFactory(
        customer_name="Maria Gonzalez", assigned_agent=agent
    )
    start = timezone.now()
    factories.MessageFactory(
        conversation=conversation, role="customer", text=CUSTOMER_TEXT, sent_at=start
    )
    factories.MessageFactory(
        conversation=conversation,
        role="agent",
        # The customer's names, each alone, and the agent's own.
        text="Thanks Maria, sorry Ms Gonzalez. Okafor here, blocking the card.",
        sent_at=start + dt.timedelta(seconds=5),
    )

    out = tmp_path / "train.jsonl"
    assert conversations_write_jsonl(Conversation.objects.all(), out) == 1

    raw = out.read_text()
    for secret in SECRETS:
        assert secret.lower() not in raw.lower()
    customer, agent_turn = json.loads(raw)["turns"]
    assert customer["text"].startswith("I'm [name], [address], London [postcode], born [dob]")
    assert agent_turn["text"].startswith("Thanks [name], sorry ")
    assert agent_turn["text"].endswith(". [name] here, blocking the card.")


@pytest.mark.django_db
def test_nothing_unscrubbed_reaches_the_external_re_ranker(demo_ranker_dir, settings, stub):
    call_command("import_catalog", DEMO_CATALOG, stdout=io.StringIO())
    settings.RANKER_DIR = demo_ranker_dir
    settings.EXTERNAL_RERANK_URL = stub.url
    settings.EXTERNAL_RERANK_TOP_M = 5
    agent = factories.agent(username="agent_sam", first_name="Sam", last_name="Okafor")
    conversation = factories.ConversationFactory(
        customer_name="Maria Gonzalez", assigned_agent=agent
    )
    start = timezone.now()
    factories.MessageFactory(
        conversation=conversation,
        role="agent",
        text="Hello Maria, Okafor speaking",
        sent_at=start,
    )
    message = factories.MessageFactory(
        conversation=conversation, role="customer", text=CUSTOMER_TEXT, sent_at=start
    )

    suggestion_create(message_id=message.pk)

    (request,) = stub.requests
    sent = json.dumps(request["body"])
    for secret in SECRETS:
        assert secret.lower() not in sent.lower()
    assert "[name]" in sent and "[card]" in sent
