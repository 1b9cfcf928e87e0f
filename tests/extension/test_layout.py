"""The panel, the extension's side panel and the demo helpdesk at the widths agents use them,
in Debian's Chromium against a real ASGI server (embedded mode: the suggestion list is stored as
a worker would store it). Also: where each role lands after signing in, and closing a chat.

Writes docs/images/panel-400px.png (the README shows it) when SCREENSHOTS=1.
"""

import os

import pytest
from django.contrib.auth.hashers import make_password

from assist.models import Conversation, Suggestion
from assist.tokens import token_issue
from templates_app.services import template_create
from tests import factories
from tests.extension.browser import configure, launch_with_extension, tab_id
from tests.live import CHROMIUM, CHROMIUM_ARGS, ROOT, asgi_server, free_port, live_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "a-long-pass-phrase"
SCREENSHOT = ROOT / "docs" / "images" / "panel-400px.png"
CUSTOMERS = [
    "Jo Park", "Amara Okafor-Whitfield", "Lukas Weber", "Sofia Rossi", "Mei Tanaka",
    "Diego Alvarez Montenegro", "Priya Nair", "Tom Becker", "Chloé Martin", "Noah Smith",
    "Ines Duarte", "Kwame Mensah", "Hana Kobayashi", "Oskar Lindqvist", "Zara Ahmed",
    "Mateo Fernández", "Aisha Bello", "Liam O'Connor",
]  # fmt: skip
# What document.scrollingElement would scroll sideways, if anything.
OVERFLOW = "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"


def user(make, username: str):
    person = make(username=username)
    person.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    person.save(update_fields=["password"])
    return person


@pytest.fixture
def desk(tmp_path):
    """Ann, an agent with 18 open chats (the first with messages and a list), and the rest."""
    agent = user(factories.agent, "ann")
    user(factories.supervisor, "sue")
    user(factories.catalog_admin, "cat")
    cards = [
        ("card.lost", "Freeze a lost card", "Hi Jo, I have frozen your card ending [[card]]."),
        ("card.found", "Card found again", "Good news, Jo: your card is active again."),
        ("refund.double", "Refund a double charge", "Sorry, Jo: we refund the second charge."),
    ]
    for key, title, body in cards:
        template_create(key=key, title=title, body=body, category="cards")
    chats = [
        factories.ConversationFactory(
            assigned_agent=agent, channel="demo", external_id=f"demo-{n}", customer_name=name
        )
        for n, name in enumerate(CUSTOMERS)
    ]
    first = chats[0]
    factories.MessageFactory(conversation=first, role="customer", text="Hi, I lost my card")
    message = factories.MessageFactory(
        conversation=first, role="customer", text="It was stolen on the bus this morning"
    )
    Suggestion.objects.create(
        conversation=first,
        message=message,
        seq=1,
        items=[
            {"key": "card.lost", "probability": 0.82, "confident": True},
            {"key": "card.found", "probability": 0.09, "confident": False},
            {"key": "refund.double", "probability": 0.04, "confident": False},
        ],
    )
    env = live_env(redis_url="", ranker_dir=tmp_path / "no-model", LIVE_LOG_DIR=str(tmp_path))
    return chats, token_issue(user=agent), env


def assert_whole_tabs(page, *, total: int) -> None:
    """Every tab on screen lies whole inside the strip, the active one among them, and the
    "+N more" menu lists the others. The strip is re-fitted by a ResizeObserver, a frame after
    a resize: this looks again for up to five seconds before it fails."""
    for _ in range(50):
        strip = _tab_strip(page)
        whole = strip["shown"] >= 2 and strip["cut"] == 0 and strip["active"]
        if whole and strip["shown"] + strip["more"] == total:
            return
        page.wait_for_timeout(100)
    assert strip["shown"] >= 2 and strip["cut"] == 0 and strip["active"], strip
    assert strip["shown"] + strip["more"] == total, strip


def _tab_strip(page) -> dict:
    return page.evaluate(
        """() => {
            const box = document.getElementById('tabs').getBoundingClientRect();
            const shown = [...document.querySelectorAll('#tabs .tab')]
                .filter((t) => t.checkVisibility());
            const menu = document.getElementById('more-tabs');
            return {
                shown: shown.length,
                cut: shown.filter((t) => { const r = t.getBoundingClientRect();
                    return r.left < box.left - 0.5 || r.right > box.right + 0.5; }).length,
                active: shown.some((t) => t.classList.contains('active')),
                more: menu.checkVisibility() ? menu.options.length - 1 : 0,
            };
        }"""
    )


def open_tab(page, conversation_id: int) -> None:
    """Opens a chat as the agent would: its tab if it is on screen, else the "+N more" menu.
    `page` is a page or a frame."""
    tab = page.locator(f'#tabs .tab[data-conversation="{conversation_id}"]')
    if tab.is_visible():
        tab.click()
    else:
        page.select_option("#more-tabs", value=str(conversation_id))


def sign_in(page, base: str, username: str) -> str:
    """Signs in through the form, as a person would (no `next`); the path it lands on."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page.url.removeprefix(base)


def test_roles_land_where_they_work_and_the_panel_fits_the_side_panel(desk):
    from playwright.sync_api import expect, sync_playwright

    chats, _, env = desk
    with asgi_server(env, free_port()) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for username, landing in [
            ("sue", "/review/"),
            ("cat", "/admin/templates_app/responsetemplate/"),
        ]:
            context = browser.new_context()
            assert sign_in(context.new_page(), base, username) == landing
            context.close()

        context = browser.new_context(viewport={"width": 400, "height": 760})
        page = context.new_page()
        assert sign_in(page, base, "ann") == "/panel/"
        expect(page.locator("#connection")).to_have_text("connected", timeout=15_000)
        tabs = page.locator("#tabs .tab")
        expect(tabs).to_have_count(len(chats), timeout=15_000)
        open_tab(page, chats[0].pk)  # Jo Park, the oldest: the last tab, in the menu at first
        expect(page.locator("#suggestions li.suggestion")).to_have_count(3, timeout=15_000)
        expect(page.locator("#messages")).to_contain_text("stolen on the bus")

        # Nothing scrolls the page sideways; the tabs that fit are whole, the rest in the menu;
        # at every side-panel width a browser offers (360 to 420 px), not only 400.
        for width in (360, 420, 400):
            page.set_viewport_size({"width": width, "height": 760})
            assert page.evaluate(OVERFLOW) <= 0, width
            assert_whole_tabs(page, total=len(chats))
        hidden = page.eval_on_selector("#more-tabs", "menu => menu.options[1].value")
        name = next(c.customer_name for c in chats if str(c.pk) == hidden)
        page.select_option("#more-tabs", value=hidden)
        expect(page.locator("#tabs .tab.active")).to_have_text(name)
        expect(page.locator("#conversation-name")).to_have_text(name)
        assert_whole_tabs(page, total=len(chats))
        open_tab(page, chats[0].pk)
        expect(page.locator("#suggestions li.suggestion")).to_have_count(3)
        # The customer is played in the demo helpdesk, never in the panel.
        assert page.locator("#composer, #composer-text, textarea").count() == 0
        if os.environ.get("SCREENSHOTS") == "1":
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))

        # Close the active chat with its key, then the next one with the button.
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("Shift+C")
        expect(tabs).to_have_count(len(chats) - 1, timeout=10_000)
        expect(page.locator("#tabs .tab", has_text="Jo Park")).to_have_count(0)
        expect(page.locator("#feedback")).to_have_text("Chat closed")
        active = page.locator("#tabs .tab.active").inner_text()
        page.click("#close-chat")
        expect(tabs).to_have_count(len(chats) - 2, timeout=10_000)
        expect(page.locator("#tabs .tab", has_text=active)).to_have_count(0)
        assert page.evaluate(OVERFLOW) <= 0

        # A supervisor's panel only watches: no close button.
        watcher = browser.new_context(viewport={"width": 400, "height": 760}).new_page()
        sign_in(watcher, base, "sue")
        watcher.goto(f"{base}/panel/?conversation={chats[5].pk}")
        expect(watcher.locator("#connection")).to_have_text("connected", timeout=15_000)
        expect(watcher.locator("#conversation-bar")).to_be_visible(timeout=10_000)
        expect(watcher.locator("#close-chat")).to_be_hidden()
        browser.close()

    closed = set(
        Conversation.objects.filter(status="closed").values_list("customer_name", flat=True)
    )
    assert closed == {"Jo Park", active}


def test_the_helpdesk_at_1024px_and_the_side_panel_at_400px_switching_its_chat(desk, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    chats, token, env = desk
    with asgi_server(env, free_port()) as base, sync_playwright() as p:
        context, worker, extension_id = launch_with_extension(p, tmp_path / "profile")
        configure(context, extension_id, backend=base, token=token)
        helpdesk = context.new_page()
        helpdesk.set_viewport_size({"width": 1024, "height": 768})
        sign_in(helpdesk, base, "ann")
        helpdesk.goto(f"{base}/demo/helpdesk/?c={chats[1].pk}")
        frame = helpdesk.frame_locator("#hd-panel iframe")
        expect(frame.locator("#connection")).to_have_text("connected", timeout=15_000)
        assert helpdesk.evaluate(OVERFLOW) <= 0
        # Usable: the reply box keeps room to write in, beside the panel.
        assert helpdesk.locator("#hd-reply").bounding_box()["width"] >= 300
        # The demo's customer side is played here (or in the customer window), not in a panel.
        helpdesk.fill("#hd-as-customer-text", "My card was stolen on the bus")
        helpdesk.click("#hd-as-customer button[type=submit]")
        said = helpdesk.locator('#hd-messages .hd-message[data-role="customer"]')
        expect(said).to_contain_text("My card was stolen on the bus", timeout=30_000)
        assert helpdesk.evaluate(OVERFLOW) <= 0

        side = context.new_page()
        side.set_viewport_size({"width": 400, "height": 760})
        tab = tab_id(worker, f"{base}/demo/helpdesk/")
        side.goto(f"chrome-extension://{extension_id}/sidepanel.html?tab={tab}")
        panel = side.frame_locator("#panel")
        # The side panel frames the panel once the content script has read the page.
        expect(side.locator("#panel")).to_be_visible(timeout=30_000)
        expect(panel.locator("#connection")).to_have_text("connected", timeout=30_000)
        expect(panel.locator("#tabs .tab").first).to_be_visible(timeout=15_000)
        assert side.evaluate(OVERFLOW) <= 0
        framed = next(f for f in side.frames if "/panel/" in f.url)
        assert framed.evaluate(OVERFLOW) <= 0
        assert framed.locator("#composer, textarea").count() == 0

        # A tab switch in the side panel opens that chat in the helpdesk tab (the demo
        # adapter's switchTo clicks its inbox link), and back; the side panel's page stays (the
        # panel switches in place, keeping its socket and the agent's keys).
        shown = helpdesk.locator("#hd-conversation")
        first_url = framed.url
        for chat in (chats[2], chats[1]):
            open_tab(framed, chat.pk)
            expect(shown).to_have_attribute("data-conversation", str(chat.pk), timeout=15_000)
            expect(panel.locator("#tabs .tab.active")).to_have_text(chat.customer_name)
        assert framed.url == first_url

        # The helpdesk's Close chat: the chat leaves the inbox and the side panel's tabs.
        name = chats[1].customer_name
        expect(panel.locator("#tabs .tab", has_text=name)).to_have_count(1)
        helpdesk.click("#hd-close")
        helpdesk.wait_for_url(f"{base}/demo/helpdesk/")
        expect(helpdesk.locator(".hd-inbox-list", has_text=name)).to_have_count(0)
        expect(panel.locator("#tabs .tab", has_text=name)).to_have_count(0, timeout=10_000)
        context.close()
    assert Conversation.objects.get(pk=chats[1].pk).status == "closed"
