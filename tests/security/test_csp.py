"""A Content-Security-Policy on every page (django-csp): scripts only from the site's own files.
The header on each kind of page, and in Chromium the pages still work under it (the panel's
socket connects, the helpdesk frames the panel, the admin and the review pages load their
scripts) with no policy violation reported."""

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client, override_settings

from assist.roles import AGENT, CATALOG_ADMIN, SUPERVISOR
from tests import factories
from tests.conftest import client_for
from tests.live import CHROMIUM, CHROMIUM_ARGS, asgi_server, free_port, live_env

EXTENSION = "chrome-extension://ahoffllcecjahnpocfcmdkakdjkjakam"


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "path"),
    [
        (None, "/accounts/login/"),
        (None, "/admin/login/"),
        (None, "/healthz"),
        (AGENT, "/panel/"),
        (SUPERVISOR, "/review/"),
        (SUPERVISOR, "/review/dashboard/"),
        (CATALOG_ADMIN, "/admin/templates_app/responsetemplate/"),
    ],
)
def test_every_page_carries_the_policy(role, path):
    client = client_for(factories.UserFactory(role=role)) if role else Client()
    response = client.get(path)
    assert response.status_code == 200, path
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
@override_settings(EXTENSION_ORIGINS=[EXTENSION])
def test_the_embedded_panel_may_be_framed_by_the_extension_and_keeps_the_script_policy():
    response = Client().get("/panel/?embed=1")
    policy = directives(response)
    assert policy["frame-ancestors"] == ["'self'", EXTENSION]
    assert policy["script-src"] == ["'self'"]
    assert "X-Frame-Options" not in response


# --- In a browser ---------------------------------------------------------------------------

# Every violation the page reports, in the page and its frames, from the first script on.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_pages_work_in_chromium_under_the_policy(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    user = factories.UserFactory(username="ann", role=AGENT)
    user.groups.add(*factories.supervisor(username="x").groups.all())
    user.is_staff = user.is_superuser = True
    user.password = make_password("ann-pass", hasher="pbkdf2_sha256")
    user.save()
    conversation = factories.ConversationFactory(assigned_agent=user, channel="demo")
    env = live_env(redis_url="", ranker_dir=tmp_path / "no-model", DEMO_HELPDESK="1")
    violations: list[str] = []
    with asgi_server(env, free_port()) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.add_init_script(RECORD_VIOLATIONS)
        page.on(
            "console",
            lambda m: "Content Security Policy" in m.text and violations.append(m.text),
        )

        def seen() -> list[str]:
            return [v for f in page.frames for v in (f.evaluate("window.__csp || []"))]

        page.goto(f"{base}/accounts/login/?next=/panel/%3Fconversation%3D{conversation.pk}")
        page.fill("#id_username", "ann")
        page.fill("#id_password", "ann-pass")
        page.click("button[type=submit]")
        expect(page.locator("#connection")).to_have_text("connected", timeout=15_000)
        violations += seen()

        page.goto(f"{base}/demo/helpdesk/?c={conversation.pk}")
        panel = page.frame_locator("iframe")
        expect(panel.locator("#connection")).to_have_text("connected", timeout=15_000)
        violations += seen()

        page.goto(f"{base}/admin/templates_app/responsetemplate/add/")
        expect(page.locator("#id_key")).to_be_visible()
        # The admin's own scripts ran: the "Save" buttons' form and its JS-built widgets.
        assert page.evaluate("typeof window.django") == "object"
        violations += seen()

        for path in ("/review/", "/review/dashboard/"):
            page.goto(f"{base}{path}")
            expect(page.locator("nav")).to_be_visible()
            violations += seen()
        browser.close()
    assert violations == []
