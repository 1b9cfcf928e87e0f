"""Catalog search over the keys' texts in other locales (templates_app/search.py, migration 0005):
a Spanish-speaking agent finds a key by its Spanish text, in the panel, the REST API and the admin.

The semantics: a key always matches on its own text; a search for a locale also matches its
variant in that locale or that locale's language (`es` for `es-MX`), and no other variant; a
search without one matches every variant. The suite runs on one database (PostgreSQL in CI);
`test_the_same_on_sqlite` runs this file again on SQLite, which searches with FTS5 instead.
"""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.urls import reverse

from assist.tokens import token_issue
from config.asgi import application
from templates_app.models import ResponseTemplate, TemplateVariant
from templates_app.search import template_search
from templates_app.variants import variant_delete, variant_save
from tests import factories
from tests.conftest import client_for
from tests.sqlite_rerun import assert_passes_on_sqlite

FREEZE_ES = "Congelar una tarjeta perdida"


def catalog() -> None:
    freeze = factories.TemplateFactory(
        key="card.freeze", title="Freeze a lost card", body="I have frozen your card."
    )
    variant_save(
        template=freeze, locale="es", title=FREEZE_ES, body="He congelado su tarjeta ahora."
    )
    arrival = factories.TemplateFactory(
        key="card.arrival", title="When your card arrives", body="It arrives in three days."
    )
    variant_save(
        template=arrival,
        locale="de",
        title="Wann kommt meine Karte",
        body="Ihre Karte kommt in drei Tagen.",
    )
    for n, title in enumerate(["Refund sent", "Change your address", "Top up by transfer"]):
        factories.TemplateFactory(key=f"general.other_{n}", title=title, body=f"{title}, done.")


@pytest.fixture
def variants_catalog(db):
    catalog()


def keys(query: str, **kwargs) -> list[str]:
    return [t.key for t in template_search(query=query, **kwargs)]


def test_a_spanish_variant_is_found_by_a_spanish_word_and_by_a_typo_of_it(variants_catalog):
    assert keys("tarjeta") == ["card.freeze"]
    assert keys("congelado") == ["card.freeze"]
    assert keys("tarjta")[0] == "card.freeze"
    assert keys("tarjta", locale="es")[0] == "card.freeze"


def test_with_a_locale_a_query_ranks_the_key_whose_variant_matches_first(variants_catalog):
    # Its own text says the word in its body only, and the team sends it far more often.
    body_only = factories.TemplateFactory(
        key="card.brand", title="Card brand", body="Your card is a Visa tarjeta clasica."
    )
    conversation = factories.ConversationFactory()
    for _ in range(10):
        factories.MessageFactory(conversation=conversation, role="agent", template=body_only)
    assert keys("tarjeta perdida", locale="es")[:2] == ["card.freeze", "card.brand"]
    # A key matched by its own text and its variant comes once, at its best.
    both = keys("freeze tarjeta", locale="es")
    assert both[0] == "card.freeze"
    assert len(both) == len(set(both))


def test_a_locale_searches_its_own_variants_and_every_key_s_own_text(variants_catalog):
    # Only the German text says "Karte".
    assert keys("karte") == ["card.arrival"]
    assert keys("karte", locale="de") == ["card.arrival"]
    assert keys("karte", locale="es") == []
    assert keys("tarjeta", locale="de") == []
    # The language of a regional locale, as the panel picks the text to show.
    assert keys("tarjeta", locale="es-MX") == ["card.freeze"]
    # A key's own text counts in any locale: it is what the panel shows without a variant.
    assert keys("arrives", locale="es") == ["card.arrival"]
    assert keys("freeze", locale="es")[0] == "card.freeze"
    # Blank is no locale: every variant.
    assert keys("karte", locale="") == ["card.arrival"]


def test_a_changed_or_removed_variant_is_searched_as_it_is_now(variants_catalog):
    freeze = ResponseTemplate.objects.get(key="card.freeze")
    variant_save(
        template=freeze, locale="es", title="Bloquear una tarjeta", body="He bloqueado su tarjeta."
    )
    assert keys("bloquear") == ["card.freeze"]
    assert keys("congelado") == []
    variant_delete(variant=TemplateVariant.objects.get(template=freeze, locale="es"))
    assert keys("bloquear") == []
    assert keys("tarjeta") == []


def test_an_inactive_key_is_not_found_by_its_variant(variants_catalog):
    ResponseTemplate.objects.filter(key="card.freeze").update(is_active=False)
    assert keys("tarjeta") == []
    assert keys("tarjeta", active_only=False) == ["card.freeze"]


def test_the_api_takes_a_locale_and_refuses_a_bad_one_with_400(variants_catalog, agent_user):
    client = client_for(agent_user)
    url = reverse("api-templates")
    found = client.get(url, {"q": "tarjeta", "locale": "es"})
    assert found.status_code == 200
    assert [t["key"] for t in found.json()["results"]] == ["card.freeze"]
    # In the locale asked for, and said to be so; a key without that text comes in its own,
    # marked as a fallback; without a locale, every key in its own text.
    spanish = found.json()["results"][0]
    assert (spanish["title"], spanish["locale"], spanish["fallback"]) == (FREEZE_ES, "es", False)
    assert spanish["body"] == "He congelado su tarjeta ahora."
    arrival = client.get(url, {"q": "arrives", "locale": "es"}).json()["results"]
    assert [(t["title"], t["locale"], t["fallback"]) for t in arrival] == [
        ("When your card arrives", "en", True)
    ]
    own = client.get(url, {"q": "tarjeta"}).json()["results"]
    assert [(t["title"], t["fallback"]) for t in own] == [("Freeze a lost card", False)]
    assert client.get(url, {"q": "karte", "locale": "es"}).json()["results"] == []
    assert [t["key"] for t in client.get(url, {"q": "karte"}).json()["results"]] == ["card.arrival"]
    for bad in ["Spanish!", "e", "es_ES", "x" * 17]:
        refused = client.get(url, {"q": "tarjeta", "locale": bad})
        assert refused.status_code == 400, bad
        assert "locale" in refused.json(), bad
    assert "such as es" in client.get(url, {"locale": "Spanish!"}).json()["locale"][0]


def test_the_admin_finds_a_key_by_its_variant(variants_catalog, catalog_admin_user):
    changelist = reverse("admin:templates_app_responsetemplate_changelist")
    found = client_for(catalog_admin_user).get(changelist, {"q": "tarjeta"})
    assert [t.key for t in found.context["cl"].result_list] == ["card.freeze"]


# serialized_rollback: the flush after the test would drop the role groups from migration 0002.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.asyncio
async def test_the_panel_searches_and_shows_the_conversation_s_language():
    await sync_to_async(catalog)()
    agent = await sync_to_async(factories.agent)(username="ana")
    conversation = await sync_to_async(factories.ConversationFactory)(
        assigned_agent=agent, language="es", language_source="helpdesk"
    )
    raw = await sync_to_async(token_issue)(user=agent)
    headers = [(b"origin", b"http://testserver"), (b"authorization", f"Token {raw}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/assist/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected

    async def search(query: str, request_id: str) -> list[dict]:
        frame = {"type": "search", "query": query, "conversation": conversation.pk}
        await communicator.send_to(text_data=json.dumps({**frame, "request_id": request_id}))
        for _ in range(10):
            answer = json.loads(await communicator.receive_from(timeout=10))
            if answer["type"] == "search_results" and answer["request_id"] == request_id:
                return answer["items"]
        raise AssertionError(f"no search_results for {request_id}")

    items = await search("tarjeta", "s-1")
    assert [(i["key"], i["title"], i["locale"], i["fallback"]) for i in items] == [
        ("card.freeze", FREEZE_ES, "es", False)
    ]
    assert items[0]["body"] == "He congelado su tarjeta ahora."
    # Found by its own English text, shown in Spanish all the same.
    assert (await search("freeze", "s-2"))[0]["title"] == FREEZE_ES
    # Not found by another locale's text; a key without Spanish text shows its own, marked.
    assert await search("karte", "s-3") == []
    arrival = (await search("arrives", "s-4"))[0]
    assert (arrival["key"], arrival["locale"], arrival["fallback"]) == ("card.arrival", "en", True)
    await communicator.disconnect()


@pytest.mark.slow
def test_the_same_on_sqlite(db):
    """This file on SQLite (FTS5 and migration 0005's triggers), when the suite runs on
    PostgreSQL."""
    assert_passes_on_sqlite(__file__)
