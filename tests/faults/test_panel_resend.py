"""Drills: what the agent does in her panel (Chromium) while the server cannot store it is
stored once it can.

1. The database goes away while she picks a suggestion in one chat and closes another. The
   server answers each frame `unavailable` ("send it again"); the panel keeps them pending and
   resends them with backoff, and when the database is back both are stored, once: the pick
   shows saved, nothing marked failed, and the closed chat's tab goes.
2. The server is down when she picks, and the page is gone before it is back (a chat switch in
   the helpdesk reloads the panel): the next panel page in that tab sends the pick.

The server reaches PostgreSQL through the drills' loopback proxy (conftest.py), which the test
cuts and restores.
"""

import re

import pytest

from assist.models import Conversation, Pick, Suggestion
from tests import factories
from tests.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    asgi_server,
    browser_agent,
    free_port,
    live_env,
    outside_the_browser,
    sign_in,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PICKED, SAVED = re.compile(r"\bpicked\b"), re.compile(r"\bsaved\b")


@pytest.fixture
def proxied(database_proxy, tmp_path):
    proxy, url = database_proxy
    # Embedded mode (no Redis): picks and messages are stored by the server itself.
    # A request waits this long for a database connection before it is refused.
    env = live_env(
        redis_url="", ranker_dir=tmp_path / "no-model", DATABASE_URL=url, DB_POOL_TIMEOUT_S="1"
    )
    return proxy, env


@pytest.fixture
def shown_list(db):
    factories.TemplateFactory(key="card.lost", title="Lost card", body="We blocked it.")
    agent = browser_agent()
    conversation = factories.ConversationFactory(assigned_agent=agent)
    factories.ConversationFactory(assigned_agent=agent, customer_name="Resolved Customer")
    message = factories.MessageFactory(conversation=conversation, text="I lost my card")
    Suggestion.objects.create(
        conversation=conversation,
        message=message,
        seq=1,
        items=[{"key": "card.lost", "probability": 0.9, "confident": True}],
    )
    return conversation


def test_a_pick_left_unsent_by_a_page_is_sent_by_the_next_page_in_the_tab(shown_list, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    conversation = shown_list
    env = live_env(redis_url="", ranker_dir=tmp_path / "no-model")
    port = free_port()
    panel_url = f"/panel/?conversation={conversation.pk}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        with asgi_server(env, port) as base:
            sign_in(page, base, f"/panel/%3Fconversation%3D{conversation.pk}")
            expect(page.locator("#connection")).to_have_text("connected", timeout=15_000)
            item = page.locator('#suggestions li.suggestion[data-key="card.lost"]')
            expect(item).to_be_visible(timeout=15_000)

        # The server is gone: the pick waits in the page's outbox, and then the page goes too.
        expect(page.locator("#connection")).not_to_have_text("connected", timeout=15_000)
        page.keyboard.press("1")
        expect(item).to_have_class(PICKED)
        page.goto("about:blank")
        assert not outside_the_browser(Pick.objects.exists)

        with asgi_server(env, port) as base:
            page.goto(base + panel_url)
            expect(page.locator("#connection")).to_have_text("connected", timeout=15_000)
            wait_for(
                lambda: outside_the_browser(Pick.objects.exists),
                timeout=30,
                what="the next page to send the pick",
            )
            # Acknowledged, so the page after that one has nothing left to send.
            wait_for(
                lambda: page.evaluate("sessionStorage.length") == 0,
                timeout=10,
                what="the stored frame to be cleared by its ack",
            )
        browser.close()

    picks = Pick.objects.filter(conversation=conversation)
    assert list(picks.values_list("template__key", "rank", "action")) == [
        ("card.lost", 1, "inserted")
    ]


def test_what_is_picked_and_closed_during_a_database_blip_is_stored_after_it(
    proxied, shown_list, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    proxy, env = proxied
    conversation = shown_list
    server_log = tmp_path / "server.log"
    with asgi_server(env, free_port(), log=server_log) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        sign_in(page, base, f"/panel/%3Fconversation%3D{conversation.pk}")
        expect(page.locator("#connection")).to_have_text("connected", timeout=15_000)
        item = page.locator('#suggestions li.suggestion[data-key="card.lost"]')
        expect(item).to_be_visible(timeout=15_000)

        other = page.locator("#tabs .tab", has_text="Resolved Customer")
        expect(other).to_have_count(1, timeout=15_000)

        proxy.cut()
        page.keyboard.press("1")  # pick the first suggestion
        other.click()
        page.keyboard.press("Shift+C")  # close the other chat

        def refusals() -> int:
            return server_log.read_text().count("database unavailable")

        # Both refused: still pending, never failed, nothing stored; and sent again.
        wait_for(lambda: refusals() >= 2, timeout=60, what="the server to refuse both frames")
        closed = Conversation.objects.filter(status="closed").exists
        assert not outside_the_browser(closed)
        assert not outside_the_browser(Pick.objects.exists)
        expect(other).to_have_count(1)
        page.locator("#tabs .tab").first.click()
        expect(item).to_have_class(PICKED)
        wait_for(lambda: refusals() >= 4, timeout=60, what="the panel to send them again")

        proxy.start()
        expect(other).to_have_count(0, timeout=30_000)
        wait_for(
            lambda: outside_the_browser(Pick.objects.exists),
            timeout=30,
            what="the pick to be stored",
        )
        expect(item).to_have_class(SAVED, timeout=10_000)
        browser.close()

    assert list(
        Conversation.objects.filter(status="closed").values_list("customer_name", flat=True)
    ) == ["Resolved Customer"]
    picks = Pick.objects.filter(conversation=conversation)
    assert list(picks.values_list("template__key", "rank")) == [("card.lost", 1)]
