"""The agent sets the conversation's language in the panel (Chromium, a real ASGI server in
embedded mode): the list comes back in that language, a key without a text in it keeps its own
marked as such, the panel says the model was not trained on the language, the choice is stored
as the agent's, and "auto" hands it back to detection."""

import pytest

from assist.models import Conversation, Suggestion
from templates_app.variants import variant_save
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


def test_the_agent_s_language_choice_reshows_the_list_in_it(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    lost = factories.TemplateFactory(
        key="card.lost", title="Lost card", body="We blocked your card.", locale="en"
    )
    variant_save(
        template=lost, locale="es", title="Tarjeta perdida", body="Hemos bloqueado su tarjeta."
    )
    factories.TemplateFactory(
        key="card.new", title="New card", body="A new card is on its way.", locale="en"
    )
    agent = browser_agent()
    conversation = factories.ConversationFactory(assigned_agent=agent)
    message = factories.MessageFactory(conversation=conversation, text="I lost my card")
    Suggestion.objects.create(
        conversation=conversation,
        message=message,
        seq=1,
        items=[
            {"key": "card.lost", "probability": 0.8, "confident": True},
            {"key": "card.new", "probability": 0.1, "confident": False},
        ],
    )
    env = live_env(redis_url="", ranker_dir=tmp_path / "no-model")

    with asgi_server(env, free_port()) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        sign_in(page, base, f"/panel/%3Fconversation%3D{conversation.pk}")
        lost_item = page.locator('#suggestions li.suggestion[data-key="card.lost"]')
        new_item = page.locator('#suggestions li.suggestion[data-key="card.new"]')
        expect(lost_item).to_contain_text("We blocked your card.", timeout=15_000)
        expect(page.locator("#language-note")).to_be_hidden()

        page.select_option("#conversation-language", "es")
        expect(lost_item).to_contain_text("Hemos bloqueado su tarjeta.", timeout=10_000)
        expect(new_item).to_contain_text("A new card is on its way.")
        expect(new_item.locator(".badge-fallback")).to_have_text("EN text")
        expect(lost_item.locator(".badge-fallback")).to_have_count(0)
        expect(page.locator("#language-note")).to_contain_text("Spanish")
        wait_for(
            lambda: _language(conversation.pk) == ("es", "agent"),
            timeout=10,
            what="the agent's choice to be stored",
        )

        page.select_option("#conversation-language", "")
        expect(lost_item).to_contain_text("We blocked your card.", timeout=10_000)
        expect(page.locator("#conversation-language")).to_have_value("")
        browser.close()
    assert _language(conversation.pk)[1] != "agent"


def _language(pk: int) -> tuple[str, str]:
    row = Conversation.objects.values_list("language", "language_source")
    return outside_the_browser(lambda: row.get(pk=pk))
