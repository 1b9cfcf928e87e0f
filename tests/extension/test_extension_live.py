"""The extension end to end: demo helpdesk, ASGI server, a real Celery worker on Redis, and the
unpacked extension in headless Chromium (Debian's package, a persistent context).

The customer writes in their window → the helpdesk tab shows it → the content script reads it
and re-sends it (stored once) → the worker ranks → the side panel shows suggestions → the agent
presses 1 → the rendered text lands at the cursor of the helpdesk's reply box (not sent) and the
pick is stored → the agent sends it, recorded as that template.

Chrome cannot open a real side panel headless (chrome.sidePanel.open needs a user gesture and
a headed window), so the side panel's page is opened as a tab pinned to the helpdesk tab
(sidepanel.html?tab=ID): the same page, the same iframe, the same messaging.
"""

import os

import pytest
from django.core.management import call_command

from assist.models import Message, Pick
from assist.tokens import token_issue
from tests import factories
from tests.extension.browser import configure, launch_with_extension, tab_id
from tests.live import asgi_server, browser_agent, celery_worker, free_port, live_env, sign_in
from tests.tiny_models import DEMO_CATALOG

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)"),
]


def test_customer_message_to_side_panel_pick_into_the_reply_box(demo_ranker_dir, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    call_command("import_catalog", DEMO_CATALOG, verbosity=0)
    agent = browser_agent(first_name="Ann")
    chat = factories.ConversationFactory(
        assigned_agent=agent, channel="demo", external_id="demo-e2e", customer_name="Jo Park"
    )
    token = token_issue(user=agent)
    env = live_env(redis_url=os.environ["REDIS_URL"], ranker_dir=demo_ranker_dir)
    env["LIVE_LOG_DIR"] = str(tmp_path)

    with celery_worker(env), asgi_server(env, free_port()) as base, sync_playwright() as p:
        context, worker, extension_id = launch_with_extension(p, tmp_path / "profile")
        configure(context, extension_id, backend=base, token=token)

        helpdesk = context.new_page()
        sign_in(helpdesk, base, f"/demo/helpdesk/%3Fc%3D{chat.pk}")
        expect(helpdesk.locator("#hd-conversation")).to_have_attribute(
            "data-external-id", "demo-e2e"
        )
        helpdesk.uncheck("#hd-show-panel")  # this test uses the extension's panel only
        # Sending a template with a [[field]] left unfilled asks first: the agent sends it as is.
        helpdesk.on("dialog", lambda dialog: dialog.accept())
        customer_url = helpdesk.locator("#hd-customer-url").get_attribute("href")

        customer = context.new_page()
        customer.goto(f"{base}{customer_url}")
        customer.fill("#cu-text", "I was charged twice for one purchase")
        customer.press("#cu-text", "Enter")
        expect(customer.locator("#cu-messages .hd-message")).to_have_count(1)
        expect(helpdesk.locator('#hd-messages [data-role="customer"]')).to_have_count(
            1, timeout=10_000
        )

        side = context.new_page()
        tab = tab_id(worker, f"{base}/demo/helpdesk/")
        side.goto(f"chrome-extension://{extension_id}/sidepanel.html?tab={tab}")
        panel = side.frame_locator("#panel")
        expect(panel.locator("#connection")).to_have_text("connected", timeout=15_000)
        first = panel.locator("#suggestions li.suggestion").first
        expect(first).to_be_visible(timeout=30_000)
        key = first.get_attribute("data-key")
        body = first.locator(".body").inner_text()
        assert key and body

        side.locator("#panel").focus()  # keys go to the panel, as after a click into it
        side.keyboard.press("1")
        expect(panel.locator("#suggestions li.suggestion.saved")).to_have_count(1, timeout=15_000)
        expect(side.locator("#result")).to_contain_text("Inserted", timeout=10_000)
        expect(helpdesk.locator("#hd-reply")).to_have_value(body)
        # Inserted, never sent: the agent reviews it and sends it from the helpdesk.
        assert helpdesk.locator('#hd-messages [data-role="agent"]').count() == 0
        helpdesk.click("#hd-send")
        expect(helpdesk.locator('#hd-messages [data-role="agent"]')).to_have_count(
            1, timeout=10_000
        )
        expect(customer.locator('#cu-messages [data-role="agent"]')).to_have_count(
            1, timeout=10_000
        )
        helpdesk.wait_for_timeout(1_000)  # let the content script re-send what it read
        context.close()

    # Outside Playwright's event loop: the ORM refuses to run inside one.
    pick = Pick.objects.get()
    assert (pick.template.key, pick.rank, pick.action) == (key, 1, "inserted")
    assert pick.agent == agent
    messages = list(Message.objects.filter(conversation=chat).order_by("sent_at"))
    # Each message once, although the page and the extension both sent it.
    assert [(m.role, m.text) for m in messages] == [
        ("customer", "I was charged twice for one purchase"),
        ("agent", body),
    ]
    assert messages[1].template.key == key
