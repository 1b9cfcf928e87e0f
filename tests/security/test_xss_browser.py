"""Markup in template bodies, titles, customer names and messages is shown as text, in a real
browser: the agent panel, the extension's side panel (which frames it), and the demo helpdesk.

A real ASGI server in embedded mode (no worker is needed: the suggestion list is stored as a
worker would store it) and Debian's Chromium. The probe sets `window.__xss` if it ever runs.
"""

import pytest
from django.utils import timezone

from assist.models import Suggestion
from assist.tokens import token_issue
from templates_app.services import template_create
from tests import factories
from tests.extension.browser import configure, launch_with_extension, tab_id
from tests.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    asgi_server,
    browser_agent,
    free_port,
    live_env,
    sign_in,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
LINK = '<a href="javascript:window.__xss=1">click</a>'
# Elements the probe would have created had any of it been parsed as HTML.
LIVE = "script:not([src]), img[onerror], a[href^='javascript:'], [onclick]"


@pytest.fixture
def probe(tmp_path):
    agent = browser_agent()
    template = template_create(
        key="xss.probe", title=f"Probe {IMG}", body=f"Hi {SCRIPT} see {LINK}", category="xss"
    )
    conversation = factories.ConversationFactory(
        assigned_agent=agent, channel="demo", external_id="demo-xss", customer_name=SCRIPT
    )
    message = factories.MessageFactory(conversation=conversation, text=f"{IMG} and {LINK}")
    Suggestion.objects.create(
        conversation=conversation,
        message=message,
        seq=1,
        items=[{"key": template.key, "probability": 0.9, "confident": True}],
    )
    # Embedded mode: no Redis, no worker; no model either (nothing is ranked here).
    env = live_env(redis_url="", ranker_dir=tmp_path / "no-model", LIVE_LOG_DIR=str(tmp_path))
    return conversation, token_issue(user=agent), env, timezone.now()


def assert_inert(page) -> None:
    assert page.evaluate("window.__xss") is None
    for frame in page.frames:
        assert frame.evaluate("window.__xss") is None, frame.url
        assert frame.locator(f"body :is({LIVE})").count() == 0, frame.url


def test_markup_is_shown_as_text_in_the_panel_the_side_panel_and_the_helpdesk(probe, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    conversation, token, env, _ = probe
    dialogs: list[str] = []
    with asgi_server(env, free_port()) as base, sync_playwright() as p:
        # The web panel.
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(page, base, f"/panel/%3Fconversation%3D{conversation.pk}")
        expect(page.locator("#connection")).to_have_text("connected", timeout=15_000)
        item = page.locator('#suggestions li.suggestion[data-key="xss.probe"]')
        expect(item).to_contain_text(SCRIPT, timeout=15_000)
        expect(item).to_contain_text(f"Probe {IMG}")
        expect(page.locator("#messages")).to_contain_text(f"{IMG} and {LINK}")
        page.keyboard.press("/")
        page.keyboard.type("probe")
        expect(page.locator("#search-results li.search-result").first).to_contain_text(LINK)
        assert_inert(page)
        browser.close()

        # The extension's side panel, framing the panel for the helpdesk tab it follows.
        context, worker, extension_id = launch_with_extension(p, tmp_path / "profile")
        configure(context, extension_id, backend=base, token=token)
        helpdesk = context.new_page()
        helpdesk.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(helpdesk, base, f"/demo/helpdesk/%3Fc%3D{conversation.pk}")
        expect(helpdesk.locator("#hd-messages")).to_contain_text(IMG, timeout=15_000)
        side = context.new_page()
        side.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        tab = tab_id(worker, f"{base}/demo/helpdesk/")
        side.goto(f"chrome-extension://{extension_id}/sidepanel.html?tab={tab}")
        panel = side.frame_locator("#panel")
        expect(panel.locator("#connection")).to_have_text("connected", timeout=15_000)
        framed = panel.locator('#suggestions li.suggestion[data-key="xss.probe"]')
        expect(framed).to_contain_text(SCRIPT, timeout=15_000)
        expect(panel.locator("#messages")).to_contain_text(LINK)
        side.wait_for_timeout(500)
        assert_inert(side)
        assert_inert(helpdesk)
        context.close()
    assert dialogs == []
