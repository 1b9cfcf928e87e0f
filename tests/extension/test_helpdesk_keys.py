"""The agent's keyboard and reply-box flow in the demo helpdesk with the web panel beside it, in
Chromium against a real ASGI server (no worker: the suggestion list is stored beforehand and
reaches the panel in its `state` frame).

Focus in the reply box, Alt+1 inserts suggestion 1 there (the customer's amount filled, said to
come from their message); a second pick goes in with a space and its unfilled field selected;
Send with that field unfilled asks first; a pick for another chat is refused with a message; the
panel's `]` switches the helpdesk's chat and the helpdesk's inbox switches the panel's tab; Esc
dismisses the list and `u` brings it back; `?` shows the key map.
"""

import os

import pytest
from django.core.management import call_command

from assist.models import Message, Pick
from tests import factories
from tests.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    asgi_server,
    browser_agent,
    free_port,
    live_env,
    sign_in,
)
from tests.tiny_models import DEMO_CATALOG

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)"),
]

AMOUNT = "card_declined.insufficient_funds"  # "... lower than {amount} at the time ..."
DAYS = "card_delivery.not_arrived"  # "... more than {days} business days ..."
GREETING = "greeting.standard"


def test_keys_from_the_reply_box_one_chat_at_a_time_and_no_unfilled_field_sent(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    call_command("import_catalog", DEMO_CATALOG, verbosity=0)
    agent = browser_agent(first_name="Ann")
    jo = factories.ConversationFactory(
        assigned_agent=agent, channel="demo", customer_name="Jo Park"
    )
    amara = factories.ConversationFactory(
        assigned_agent=agent, channel="demo", customer_name="Amara Okafor"
    )
    asked = factories.MessageFactory(
        conversation=jo, role="customer", text="My payment failed, it was £25.50 at the shop"
    )
    factories.SuggestionFactory(
        message=asked,
        items=[
            {"key": key, "probability": p, "confident": False}
            for key, p in ((AMOUNT, 0.5), (DAYS, 0.3), (GREETING, 0.1))
        ],
    )
    env = live_env(redis_url=os.environ["REDIS_URL"], ranker_dir=tmp_path / "no-model")

    with asgi_server(env, free_port()) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs = []

        def answer(dialog):
            dialogs.append(dialog.message)
            dialog.dismiss() if len(dialogs) == 1 else dialog.accept()

        page.on("dialog", answer)
        sign_in(page, base, f"/demo/helpdesk/%3Fc%3D{jo.pk}")
        panel = page.frame_locator(".hd-panel-frame")
        items = panel.locator("#suggestions li.suggestion")
        expect(items).to_have_count(3, timeout=15_000)
        amount = items.nth(0).locator('.field[data-field="amount"]')
        expect(amount).to_contain_text("£25.50")
        expect(amount).to_contain_text("from customer's message")
        first_body = items.nth(0).locator(".body").inner_text()
        assert "£25.50" in first_body

        # Typing in the reply box, Alt+1 inserts suggestion 1 there; the box keeps the focus.
        box = page.locator("#hd-reply")
        box.click()
        page.keyboard.type("Sorry about that.")
        page.keyboard.press("Alt+1")
        expect(box).to_have_value(f"Sorry about that. {first_body}")
        expect(panel.locator("#suggestions li.suggestion.saved")).to_have_count(1)
        assert page.evaluate("document.activeElement.id") == "hd-reply"

        # A second pick: beside the first with a space, its unfilled field selected.
        page.keyboard.press("Alt+2")
        expect(box).to_have_value(f"Sorry about that. {first_body} " + _body(panel, 1))
        selected = "el => el.value.slice(el.selectionStart, el.selectionEnd)"
        assert box.evaluate(selected) == "[[days]]"

        # Send with the field unfilled asks first; "no" sends nothing and selects the field.
        page.click("#hd-send")
        assert len(dialogs) == 1 and "[[days]]" in dialogs[0]
        assert box.evaluate(selected) == "[[days]]"
        assert page.locator('#hd-messages [data-role="agent"]').count() == 0
        page.keyboard.type("5")
        page.keyboard.press("Control+Enter")
        page.wait_for_function(
            "() => !document.querySelector('#hd-reply').value"
            " || document.querySelector('#hd-reply-status').textContent.startsWith('Not sent')"
        )
        assert page.locator("#hd-reply-status").inner_text() == ""
        expect(page.locator('#hd-messages [data-role="agent"]')).to_have_count(1, timeout=10_000)
        assert len(dialogs) == 1  # nothing left unfilled: nothing asked

        # A pick made for another chat is refused, visibly, and changes nothing.
        box.fill("draft")
        page.frame(url=lambda url: "/panel/" in url).evaluate(
            """(id) => parent.postMessage({type: "assist:pick", conversation: id,
                customer: "Amara Okafor", key: "greeting.standard", text: "Hi Amara"}, "*")""",
            amara.pk,
        )
        expect(page.locator("#hd-reply-status")).to_contain_text("Not inserted")
        expect(page.locator("#hd-reply-status")).to_contain_text("Amara Okafor")
        expect(box).to_have_value("draft")

        # Esc dismisses the list in the panel, u brings it back; ? shows the key map.
        page.keyboard.press("Alt+Shift+S")
        page.keyboard.press("Escape")
        expect(items).to_have_count(0)
        page.keyboard.press("u")
        expect(items).to_have_count(3)
        page.keyboard.press("?")
        expect(panel.locator("#key-help")).to_be_visible()
        expect(panel.locator("#key-help")).to_contain_text("Alt+1")
        page.keyboard.press("Escape")
        expect(panel.locator("#key-help")).to_be_hidden()

        # The panel's tab switch opens that chat in the helpdesk, and the other way round.
        tab = panel.locator(f'#tabs [data-conversation="{amara.pk}"]')
        expect(tab).to_have_count(1)
        page.keyboard.press("]")
        expect(page.locator("#hd-conversation")).to_have_attribute(
            "data-conversation", str(amara.pk), timeout=10_000
        )
        expect(tab).to_have_attribute("aria-selected", "true", timeout=10_000)
        page.click(f'.hd-inbox-list a[data-conversation="{jo.pk}"]')
        expect(page.locator("#hd-conversation")).to_have_attribute("data-conversation", str(jo.pk))
        expect(panel.locator(f'#tabs [data-conversation="{jo.pk}"]')).to_have_attribute(
            "aria-selected", "true", timeout=10_000
        )
        # Each chat switch reloaded the panel; what a page left unacknowledged (its outbox, kept
        # in the tab's sessionStorage) the next page sent. Everything is acknowledged once the
        # outbox is empty.
        outbox = "Object.keys(sessionStorage).filter((k) => k.startsWith('assist-outbox:'))"
        for _ in range(300):
            if not page.evaluate(outbox):
                break
            page.wait_for_timeout(100)
        assert page.evaluate(outbox) == []
        browser.close()

    # Outside Playwright's event loop: the ORM refuses to run inside one.
    inserted = Pick.objects.filter(action="inserted").order_by("id")
    assert list(inserted.values_list("template__key", "rank")) == [(AMOUNT, 1), (DAYS, 2)]
    # u undid it on screen only.
    assert Pick.objects.filter(action="dismissed").count() == 1
    sent = Message.objects.get(conversation=jo, role="agent")
    assert "[[days]]" not in sent.text and "more than 5 business days" in sent.text


def _body(panel, index: int) -> str:
    return panel.locator("#suggestions li.suggestion").nth(index).locator(".body").inner_text()
