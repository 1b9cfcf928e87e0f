"""The panel's catalog search in Debian's Chromium: a typo finds the template, best first, and
the panel keeps the server's order.

A real ASGI server in embedded mode (search needs no worker and no model) on the suite's
database, with the demo catalog.
"""

import pytest

from templates_app.catalog_csv import parse_catalog_bytes
from templates_app.services import catalog_import
from tests.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    asgi_server,
    browser_agent,
    free_port,
    live_env,
    sign_in,
)
from tests.templates_app.test_search import DEMO_CATALOG, FREEZE

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_typing_a_typo_in_the_panel_search_shows_the_template_first(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    browser_agent()
    catalog_import(rows=parse_catalog_bytes(DEMO_CATALOG.read_bytes()))
    env = live_env(redis_url="", ranker_dir=tmp_path / "no-model", LIVE_LOG_DIR=str(tmp_path))

    with asgi_server(env, free_port()) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        sign_in(page, base, "/panel/")
        expect(page.locator("#connection")).to_have_text("connected", timeout=15_000)

        page.keyboard.press("/")
        page.keyboard.type("frezee")
        results = page.locator("#search-results li.search-result")
        expect(results.first).to_contain_text(FREEZE, timeout=10_000)
        expect(results.first).to_have_attribute("data-key", "card_lost_stolen.freeze")
        browser.close()
