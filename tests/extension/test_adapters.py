"""The site adapters on saved helpdesk pages, in Chromium (there is no DOM under node).

Each fixture is loaded with page.set_content() and the adapter scripts run on it exactly as the
content script runs them. A page whose layout no longer fits the selectors must give
{ok: false, reason}, never a made-up conversation.
"""

import pytest

from tests.extension.browser import ADAPTERS, acme_site, fixture
from tests.live import CHROMIUM, CHROMIUM_ARGS

READ = "([site, href]) => AssistAdapters.readConversation(document, site, {href})"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    yield page
    page.close()


def load(page, name: str) -> None:
    page.set_content(fixture(name))
    for script in ADAPTERS:
        page.add_script_tag(path=str(script))


def read(page, site, href="about:blank"):
    return page.evaluate(READ, [site, href])


def test_demo_adapter_reads_ids_roles_and_text(page):
    load(page, "demo_helpdesk.html")
    result = read(page, page.evaluate("AssistAdapters.DEMO_SITE"))
    assert result == {
        "ok": True,
        "conversationId": "demo-3fa2c1d0e9b8",
        "customerName": "Jo Park",
        "channel": "demo",
        "language": "",  # the demo page does not say; the server detects it
        "messages": [
            {
                "id": "6f1c1b8e-0c1e-4b7e-9d1a-1f9a4a0c2b11",
                "role": "customer",
                "text": "Hi, I was charged twice for one purchase.",
            },
            {
                "id": "0b8a3c57-7e0f-4f5b-a1e2-4c1d9b7f3e22",
                "role": "agent",
                "text": "Sorry to hear that, Jo. Let me check.",
            },
            {
                "id": "a7d4e2f1-3b6c-4d8e-9f0a-5b2c1d3e4f33",
                "role": "customer",
                # Markup in a message is text, whitespace collapsed as the agent sees it.
                "text": "It was at the <b>grocery</b> store yesterday.",
            },
        ],
    }


def test_demo_inbox_without_a_conversation_is_not_an_error(page):
    load(page, "demo_helpdesk_inbox.html")
    result = read(page, page.evaluate("AssistAdapters.DEMO_SITE"))
    assert result["ok"] is False
    assert result["code"] == "no_conversation"


def test_demo_layout_that_breaks_the_selectors_is_refused(page):
    load(page, "demo_helpdesk_broken.html")
    result = read(page, page.evaluate("AssistAdapters.DEMO_SITE"))
    assert result == {
        "ok": False,
        "code": "unreadable",
        "reason": "message 2 matches neither of the role selectors",
    }


def test_generic_adapter_reads_a_configured_helpdesk(page):
    load(page, "acme_desk.html")
    result = read(page, acme_site())
    assert result["ok"] is True
    assert (result["conversationId"], result["customerName"], result["channel"]) == (
        "4711",
        "Mei Tanaka",
        "acme",
    )
    assert [(m["role"], m["text"]) for m in result["messages"]] == [
        ("customer", "My card has not arrived yet."),
        ("agent", "Let me look into that."),
        ("customer", "Thanks"),
        ("customer", "Thanks"),
    ]
    ids = [m["id"] for m in result["messages"]]
    # Hash ids: stable across reads, distinct for the same text at another position.
    assert len(set(ids)) == 4
    assert all(i.startswith("g1-") and len(i) <= 64 for i in ids)
    assert [m["id"] for m in read(page, acme_site())["messages"]] == ids


def test_generic_adapter_takes_the_conversation_id_from_the_url(page):
    load(page, "acme_desk.html")
    site = acme_site() | {"conversationId": {"url": r"/tickets/(\d+)"}}
    result = read(page, site, "https://desk.acme.test/tickets/99?tab=2")
    assert result["conversationId"] == "99"


def test_redesigned_helpdesk_is_refused_not_read_as_empty(page):
    load(page, "acme_desk_redesigned.html")
    result = read(page, acme_site())
    assert result["ok"] is False
    assert result["code"] == "unreadable"
    assert "no element matches the message selector" in result["reason"]


def test_an_invalid_selector_is_reported(page):
    load(page, "acme_desk.html")
    result = read(page, acme_site() | {"message": "article[["})
    assert result["ok"] is False
    assert "not a valid CSS selector" in result["reason"]


def test_insert_at_the_cursor_of_a_textarea_without_submitting(page):
    load(page, "demo_helpdesk.html")
    page.evaluate(
        """() => {
            window.submitted = false;
            window.inputs = 0;
            document.querySelector('#hd-reply-form').addEventListener('submit', (e) => {
                e.preventDefault(); window.submitted = true; });
            const box = document.querySelector('#hd-reply');
            box.addEventListener('input', () => { window.inputs += 1; });
            box.setSelectionRange(5, 5);  // "Dear |Jo, "
        }"""
    )
    ok = page.evaluate(
        "AssistAdapters.insertAtCursor(AssistAdapters.findReplyBox(document, "
        "AssistAdapters.DEMO_SITE), 'dear ')"
    )
    assert ok is True
    assert page.input_value("#hd-reply") == "Dear dear Jo, "
    assert page.evaluate("[window.inputs, window.submitted]") == [1, False]


def test_insert_into_a_contenteditable_editor(page):
    load(page, "acme_desk.html")
    site = acme_site()
    ok = page.evaluate(
        "(site) => AssistAdapters.insertAtCursor(AssistAdapters.findReplyBox(document, site),"
        " ' Your card is on its way.')",
        site,
    )
    assert ok is True
    assert page.inner_text("#composer .editor").strip() == "Hello Mei, Your card is on its way."


def test_site_validation_catches_bad_selectors_in_the_browser(page):
    load(page, "acme_desk.html")
    errors = page.evaluate(
        "(site) => AssistAdapters.validateSite(site, document)", acme_site() | {"text": "div[["}
    )
    assert errors == ['Acme desk: "div[[" is not a valid CSS selector']
    assert page.evaluate("(s) => AssistAdapters.validateSite(s, document)", acme_site()) == []
