"""The live loop end to end: ASGI server, a real Celery worker on Redis, the panel in Chromium.

A customer message arrives → the worker ranks → the panel renders the suggestions → the agent
presses 1 → the Pick row exists. Then the server restarts under the panel, which reconnects by
itself and keeps working.
"""

import os

import pytest
from django.core.management import call_command

from assist.models import Pick
from assist.tokens import token_issue
from tests import factories
from tests.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    asgi_server,
    browser_agent,
    celery_worker,
    free_port,
    live_env,
    post_customer_message,
    sign_in,
)
from tests.tiny_models import DEMO_CATALOG

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)"),
]


@pytest.fixture
def live(demo_ranker_dir, tmp_path):
    """An agent 'ann' with a conversation and a token, and the environment for live processes."""
    call_command("import_catalog", DEMO_CATALOG, verbosity=0)
    agent = browser_agent()
    conversation = factories.ConversationFactory(assigned_agent=agent, customer_name="Jo Park")
    env = live_env(redis_url=os.environ["REDIS_URL"], ranker_dir=demo_ranker_dir)
    env["LIVE_LOG_DIR"] = str(tmp_path)
    return agent, conversation, token_issue(user=agent), env


def open_panel(page, base: str, conversation_id: int) -> None:
    from playwright.sync_api import expect

    sign_in(page, base, f"/panel/%3Fconversation%3D{conversation_id}")
    expect(page.locator("#connection")).to_have_text("connected", timeout=15_000)


def test_message_to_suggestions_to_keyboard_pick_with_a_real_worker(live):
    from playwright.sync_api import expect, sync_playwright

    agent, conversation, token, env = live
    port = free_port()

    with celery_worker(env), asgi_server(env, port) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        open_panel(page, base, conversation.pk)

        post_customer_message(base, token, conversation.pk, "I was charged twice for one purchase")
        first = page.locator('#suggestions[data-seq="1"] li.suggestion').first
        expect(first).to_be_visible(timeout=30_000)
        key = first.get_attribute("data-key")
        assert key
        page.keyboard.press("1")
        expect(page.locator("#suggestions li.suggestion.saved")).to_have_count(1, timeout=15_000)
        browser.close()

    # Outside Playwright's event loop: the ORM refuses to run inside one.
    pick = Pick.objects.get()
    assert (pick.template.key, pick.rank, pick.action) == (key, 1, "inserted")
    assert pick.agent == agent
    assert pick.time_to_pick_ms is not None

    # The server goes away and comes back on the same port: the panel reconnects by itself.
    with celery_worker(env, name="w2"), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context()
        with asgi_server(env, port) as base:
            page = context.new_page()
            open_panel(page, base, conversation.pk)
        expect(page.locator("#connection")).to_have_text("reconnecting…", timeout=15_000)
        with asgi_server(env, port) as base:
            expect(page.locator("#connection")).to_have_text("connected", timeout=30_000)
            post_customer_message(base, token, conversation.pk, "my card has not arrived yet")
            fresh = page.locator('#suggestions[data-seq="2"] li.suggestion')
            expect(fresh.first).to_be_visible(timeout=30_000)
            page.keyboard.press("1")
            expect(page.locator("#suggestions li.suggestion.saved")).to_have_count(
                1, timeout=15_000
            )
        browser.close()
    assert Pick.objects.count() == 2


def test_degraded_mode_without_a_worker_then_recovery(live):
    """No worker: the panel says so, search works and picks are stored; a worker that starts
    later ranks the waiting message and the panel recovers without a reload."""
    from playwright.sync_api import expect, sync_playwright

    _, conversation, token, env = live
    _forget_heartbeats(env["REDIS_URL"])
    port = free_port()

    with asgi_server(env, port) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        open_panel(page, base, conversation.pk)

        post_customer_message(base, token, conversation.pk, "I think someone stole my card")
        status = page.locator("#assist-status")
        expect(status).to_contain_text("unavailable", timeout=15_000)

        page.keyboard.press("/")
        page.keyboard.type("stolen")
        results = page.locator("#search-results li.search-result")
        expect(results.first).to_be_visible(timeout=10_000)
        searched_key = results.first.get_attribute("data-key")
        page.keyboard.press("Enter")
        expect(page.locator("#search-results li.saved")).to_have_count(1, timeout=15_000)

        with celery_worker(env):
            fresh = page.locator('#suggestions[data-seq="1"] li.suggestion')
            expect(fresh.first).to_be_visible(timeout=30_000)
            expect(status).to_have_text("", timeout=10_000)
        browser.close()

    pick = Pick.objects.get()
    assert (pick.template.key, pick.suggestion, pick.rank) == (searched_key, None, None)


def _forget_heartbeats(redis_url: str) -> None:
    """Start from 'no worker alive', whatever an earlier test's worker left in Redis."""
    import redis

    from assist.live.heartbeat import HEARTBEAT_KEY

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"*{HEARTBEAT_KEY}*"):
        client.delete(key)
