"""Catalog search (templates_app/search.py) on the demo catalog: ranked, typo-tolerant, ordered by
relevance then usage, through the selector, the REST API and the admin.

The suite runs on one database (PostgreSQL in CI); `test_the_same_on_sqlite` runs this file
again on SQLite, the embedded mode's database, which searches with FTS5 instead.
"""

from pathlib import Path

import pytest
from django.urls import reverse

from templates_app.catalog_csv import parse_catalog_bytes
from templates_app.search import MAX_QUERY_CHARS, SearchQueryInvalid, template_search
from templates_app.services import catalog_import, template_update, templates_set_active
from tests import factories
from tests.conftest import client_for
from tests.sqlite_rerun import assert_passes_on_sqlite

ROOT = Path(__file__).resolve().parents[2]
DEMO_CATALOG = ROOT / "assist" / "demo" / "catalog.csv"
FREEZE = "Freeze a lost card"
ODD_QUERIES = ['"', "'", "&|!:*", "freeze:*", "a & (b | !c)", "NEAR(card lost)", "\\", "\x00", "🙂"]


@pytest.fixture
def demo_catalog(db):
    catalog_import(rows=parse_catalog_bytes(DEMO_CATALOG.read_bytes()))


def titles(query: str, **kwargs) -> list[str]:
    return [t.title for t in template_search(query=query, **kwargs)]


def send(template, times: int) -> None:
    conversation = factories.ConversationFactory()
    for _ in range(times):
        factories.MessageFactory(conversation=conversation, role="agent", template=template)


def test_a_word_ranks_the_template_named_by_it_first(demo_catalog):
    found = titles("freeze")
    assert found[0] == FREEZE
    # Its body says "unfreeze", which a substring search ranked first by category.
    assert "Card found again" not in found[:1]


def test_a_typo_still_finds_it_first(demo_catalog):
    assert titles("frezee")[0] == FREEZE
    assert titles("frezee card")[0] == FREEZE


def test_a_key_finds_its_template(demo_catalog):
    assert titles("card_lost_stolen.freeze")[0] == FREEZE


def test_equally_relevant_templates_come_most_used_first(db):
    # Same shape of text, so the same relevance; the word only in a body is less relevant.
    once = factories.TemplateFactory(key="money.back_one", title="Refund sent")
    often = factories.TemplateFactory(key="money.back_two", title="Refund done")
    body_only = factories.TemplateFactory(
        key="money.back_three", title="Money back", body="Hello, the refund is on its way."
    )
    send(once, 1)
    send(often, 3)
    send(body_only, 10)
    assert titles("refund") == ["Refund done", "Refund sent", "Money back"]


def test_the_panel_searches_active_templates_and_sees_edits(demo_catalog):
    from templates_app.models import ResponseTemplate

    freeze = ResponseTemplate.objects.get(title=FREEZE)
    templates_set_active(
        templates=ResponseTemplate.objects.filter(pk=freeze.pk), is_active=False, user=None
    )
    assert FREEZE not in titles("freeze")
    assert titles("freeze", active_only=False)[0] == FREEZE

    freeze.refresh_from_db()
    body = "I have blocked your card."
    template_update(template=freeze, title="Block a mislaid card", body=body, is_active=True)
    assert titles("mislaid")[0] == "Block a mislaid card"
    # Only its old body said "anytime".
    assert "Block a mislaid card" not in titles("anytime")


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_odd_characters_are_searched_as_text_never_as_syntax(demo_catalog, query):
    assert isinstance(titles(query), list)


def test_a_query_of_only_symbols_finds_nothing_and_an_empty_one_lists_the_catalog(demo_catalog):
    assert titles("&|!:*") == []
    listed = template_search(query="  ")
    assert listed.count() > 80
    assert list(listed) == sorted(listed, key=lambda t: (t.category, t.key))


def test_a_too_long_query_is_refused(demo_catalog):
    with pytest.raises(SearchQueryInvalid):
        template_search(query="freeze " * 40)
    assert titles("x" * MAX_QUERY_CHARS) == []


def test_the_api_answers_best_first_and_refuses_bad_queries_with_400(demo_catalog, agent_user):
    client = client_for(agent_user)
    url = reverse("api-templates")
    assert client.get(url, {"q": "frezee"}).json()["results"][0]["title"] == FREEZE
    for query in ODD_QUERIES[:-2]:
        assert client.get(url, {"q": query}).status_code == 200, query
    too_long = client.get(url, {"q": "x" * (MAX_QUERY_CHARS + 1)})
    assert too_long.status_code == 400
    assert "q" in too_long.json()


def test_the_admin_ranks_with_the_same_search_and_keeps_its_filters(
    demo_catalog, catalog_admin_user
):
    from templates_app.models import ResponseTemplate

    templates_set_active(
        templates=ResponseTemplate.objects.filter(title=FREEZE), is_active=False, user=None
    )
    client = client_for(catalog_admin_user)
    changelist = reverse("admin:templates_app_responsetemplate_changelist")

    found = client.get(changelist, {"q": "frezee"}).context["cl"].result_list
    assert found[0].title == FREEZE
    active = client.get(changelist, {"q": "frezee", "is_active__exact": "1"})
    assert FREEZE not in [t.title for t in active.context["cl"].result_list]

    too_long = client.get(changelist, {"q": "x" * 300})
    assert too_long.status_code == 200
    assert list(too_long.context["cl"].result_list) == []
    assert "at most" in " ".join(str(m) for m in too_long.context["messages"])


@pytest.mark.slow
def test_the_same_on_sqlite(db):
    """This file on SQLite (FTS5 and its triggers), when the suite runs on PostgreSQL."""
    assert_passes_on_sqlite(__file__)
