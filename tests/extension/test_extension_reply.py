"""The extension's keyboard commands and reply-box rules, in headless Chromium against the stub
backend of test_extension.py: the shortcuts are declared and reach the panel through the side
panel; a pick goes in beside the text with its unfilled field selected; sending it unfilled asks
first; a pick for another conversation is refused, by the background and by the page's own
content script, with a notice on the page.
"""

import re

import pytest

from tests.extension import test_extension
from tests.extension.browser import acme_site, configure, launch_with_extension, tab_id
from tests.extension.test_extension import TOKEN, stub  # noqa: F401  (the stub backend fixture)

pytestmark = pytest.mark.slow

# The stub panel also reports the commands it receives from the side panel.
PANEL = test_extension.STUB_PANEL.replace(
    "window.pick =",
    """window.addEventListener("message", (e) => {
  if (e.source === window.parent && e.data.type === "assist:command") {
    fetch("/stub/command", {method: "POST", body: JSON.stringify({command: e.data.command})});
  }
});
window.pick =""",
)


def test_commands_and_the_reply_box_through_the_extension(stub, tmp_path, monkeypatch):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setattr(test_extension, "STUB_PANEL", PANEL)
    backend = stub("demo_helpdesk.html")
    with sync_playwright() as p:
        context, worker, extension_id = launch_with_extension(p, tmp_path / "profile")
        configure(context, extension_id, backend=backend.base, token=TOKEN)

        # Four suggested shortcuts (Chrome's most); picks 4 and 5 wait for the agent's keys.
        # Alt+1…3 are suggested, Alt+Shift+1…3 on Linux, where Alt+digit switches the tabs.
        commands = worker.evaluate(
            "async () => Object.fromEntries((await chrome.commands.getAll())"
            ".map((c) => [c.name, c.shortcut]))"
        )
        assert commands["pick-1"] == "Alt+Shift+1" and commands["pick-3"] == "Alt+Shift+3"
        assert commands["focus-panel"] == "Alt+Shift+S"
        assert commands["pick-4"] == "" and commands["pick-5"] == ""

        helpdesk = context.new_page()
        helpdesk.goto(f"{backend.base}/demo/helpdesk/?c=12")
        dialogs = []

        def answer(dialog):
            dialogs.append(dialog.message)
            dialog.dismiss()

        helpdesk.on("dialog", answer)
        side = context.new_page()
        tab = tab_id(worker, f"{backend.base}/demo/helpdesk/")
        side.goto(f"chrome-extension://{extension_id}/sidepanel.html?tab={tab}")
        # A locator assertion, not wait_for_function: an extension page's CSP refuses the
        # string evaluation that polling a function expression needs.
        expect(side.locator("#panel")).to_have_attribute(
            "src", re.compile(r"conversation=7"), timeout=10_000
        )
        panel = side.frames[1]
        panel.wait_for_function("document.readyState === 'complete'")

        # A command pressed in the helpdesk tab reaches the panel through the side panel.
        worker.evaluate(
            "(tabId) => chrome.runtime.sendMessage({type: 'assist:command', command: 'pick-2',"
            " tabId})",
            tab,
        )
        _wait_for_call(helpdesk, backend, "/stub/command")
        assert ("POST", "/stub/command", {"command": "pick-2"}, "") in backend.calls

        # A pick goes in beside the text, its unfilled field selected.
        box = helpdesk.locator("#hd-reply")
        box.press("End")  # after "Dear Jo, "
        panel.evaluate("pick('Your card arrives within [[days]] days.')")
        expect(side.locator("#result")).to_contain_text("Inserted", timeout=10_000)
        expect(box).to_have_value("Dear Jo, Your card arrives within [[days]] days.")
        selected = "el => el.value.slice(el.selectionStart, el.selectionEnd)"
        assert box.evaluate(selected) == "[[days]]"

        # Send asks while the field is unfilled; "no" keeps the reply, the field selected.
        helpdesk.click("#hd-send")
        assert len(dialogs) == 1 and "[[days]]" in dialogs[0]
        expect(box).to_have_value("Dear Jo, Your card arrives within [[days]] days.")
        assert box.evaluate(selected) == "[[days]]"

        # A pick for another conversation: refused by the background (the tab shows 7) ...
        panel.evaluate(
            "window.parent.postMessage({type: 'assist:pick', conversation: 8, key: 'k',"
            " text: 'Hi Amara'}, '*')"
        )
        expect(side.locator("#result")).to_contain_text("Not inserted", timeout=10_000)
        # ... and by the content script, should the page have moved on since it last looked.
        refused = worker.evaluate(
            "(tabId) => chrome.tabs.sendMessage(tabId, {type: 'assist:insert', text: 'Hi Amara',"
            " key: 'k', externalId: 'demo-another-chat'})",
            tab,
        )
        assert refused == {"ok": False, "reason": "the helpdesk shows another conversation now"}
        expect(helpdesk.locator("[data-assist-notice]")).to_contain_text("not inserted")
        expect(box).to_have_value("Dear Jo, Your card arrives within [[days]] days.")
        context.close()


def _wait_for_call(page, backend, path: str) -> None:
    for _ in range(50):
        if any(call[1] == path for call in backend.calls):
            return
        page.wait_for_timeout(100)


def test_fields_in_a_contenteditable_reply_box(stub, tmp_path):  # noqa: F811
    """Most helpdesks write replies in a contenteditable editor, not a textarea: an insert
    selects its first field there too, and Tab / Shift+Tab move between the fields."""
    from playwright.sync_api import sync_playwright

    backend = stub("acme_desk.html")
    site = acme_site() | {"matches": ["http://127.0.0.1/demo/helpdesk/*"]}
    with sync_playwright() as p:
        context, worker, extension_id = launch_with_extension(p, tmp_path / "profile")
        # Another backend, so that this page is a helpdesk of the agent's own configuration (the
        # generic adapter, "Acme desk"), not the backend's demo.
        configure(context, extension_id, backend="http://localhost:9", token=TOKEN, sites=[site])
        page = context.new_page()
        page.goto(f"{backend.base}/demo/helpdesk/tickets/4711")
        tab = tab_id(worker, f"{backend.base}/demo/helpdesk/")
        send = "(message) => chrome.tabs.sendMessage(message.tab, message.body).catch(() => null)"
        for _ in range(50):  # until the content script has read the page with the site's rules
            if worker.evaluate(send, {"tab": tab, "body": {"type": "assist:read"}}) == {"ok": True}:
                break
            page.wait_for_timeout(100)
        editor = page.locator("#composer .editor")
        editor.click()
        page.keyboard.press("Control+End")  # after "Hello Mei,"
        text = "Your card arrives in [[days]] days; reference [[reference]]."
        insert = {"type": "assist:insert", "text": text, "key": "k", "externalId": "4711"}
        assert worker.evaluate(send, {"tab": tab, "body": insert}) == {"ok": True}

        selected = "() => document.getSelection().toString()"
        assert page.evaluate(selected) == "[[days]]"
        page.keyboard.press("Tab")
        assert page.evaluate(selected) == "[[reference]]"
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(selected) == "[[days]]"
        page.keyboard.type("5")
        page.keyboard.press("Tab")
        assert page.evaluate(selected) == "[[reference]]"
        page.keyboard.type("NW-7QK2")
        assert editor.inner_text().strip() == (
            "Hello Mei, Your card arrives in 5 days; reference NW-7QK2."
        )
        # No field left: Tab moves the focus on, as the page expects.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.tagName") == "BUTTON"
        context.close()
