"""The HTTP side's doors: tokens, roles, CSRF, CORS, the per-agent rate and the admin's
escaping. Each refusal is also checked for what it must not have done (no row stored)."""

import datetime as dt
from html.parser import HTMLParser

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assist.models import AgentToken, Message, Pick
from assist.tokens import token_issue, token_revoke
from templates_app.models import ResponseTemplate
from templates_app.services import template_create
from tests import factories
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

EXTENSION = "chrome-extension://ahoffllcecjahnpocfcmdkakdjkjakam"
# What a hostile template author or customer might write; none of it may ever run.
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
LINK = '<a href="javascript:window.__xss=1">click</a>'


def token_client(raw: str, **extra) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {raw}", **extra)


def message_body(client_id: str = "m-1") -> dict:
    return {"role": "customer", "text": "my card is lost", "client_id": client_id}


# --- Tokens ---------------------------------------------------------------------------------


def _expired(agent) -> str:
    raw = token_issue(user=agent)
    AgentToken.objects.update(created_at=timezone.now() - dt.timedelta(days=31))
    return raw


def _revoked(agent) -> str:
    raw = token_issue(user=agent)
    token_revoke(raw=raw)
    return raw


@pytest.mark.parametrize(
    "make_client",
    [
        lambda agent: Client(),
        lambda agent: token_client(_expired(agent)),
        lambda agent: token_client(_revoked(agent)),
        lambda agent: token_client("made-up-token"),
        lambda agent: Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=agent)}"),
    ],
    ids=["none", "expired", "revoked", "unknown", "wrong-scheme"],
)
def test_no_expired_or_revoked_token_is_refused_and_nothing_is_stored(agent_user, make_client):
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    client = make_client(agent_user)
    url = reverse("api-messages", args=[conversation.pk])
    response = client.post(url, message_body(), "application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert client.get(reverse("api-conversation", args=[conversation.pk])).status_code == 401
    assert not Message.objects.exists()


def test_a_token_in_the_query_string_is_not_accepted(agent_user):
    raw = token_issue(user=agent_user)
    for name in ("token", "auth_token", "access_token"):
        assert Client().get(reverse("api-conversations"), {name: raw}).status_code == 401


def test_a_fresh_token_works_until_its_lifetime_is_over(agent_user, settings):
    raw = token_issue(user=agent_user)
    client = token_client(raw)
    assert client.get(reverse("api-conversations")).status_code == 200
    AgentToken.objects.update(created_at=timezone.now() - dt.timedelta(days=29))
    assert client.get(reverse("api-conversations")).status_code == 200
    settings.AGENT_TOKEN_TTL_DAYS = 28
    assert client.get(reverse("api-conversations")).status_code == 401


# --- Roles ----------------------------------------------------------------------------------


def test_another_agents_conversation_is_forbidden_over_http(agent_user, other_agent):
    theirs = factories.ConversationFactory(assigned_agent=other_agent)
    factories.MessageFactory(conversation=theirs, text="their customer's account number")
    template = factories.TemplateFactory()
    client = token_client(token_issue(user=agent_user))
    pick = {
        "conversation": theirs.pk,
        "suggestion": None,
        "template": template.key,
        "rank": None,
        "action": "inserted",
        "client_id": "p-1",
    }
    answers = [
        client.get(reverse("api-conversation", args=[theirs.pk])),
        client.get(reverse("api-latest-suggestion", args=[theirs.pk])),
        client.post(reverse("api-messages", args=[theirs.pk]), message_body(), "application/json"),
        client.post(reverse("api-picks"), pick, "application/json"),
    ]
    assert [a.status_code for a in answers] == [403] * 4
    assert all("account number" not in a.content.decode() for a in answers)
    assert (Message.objects.count(), Pick.objects.count()) == (1, 0)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/templates_app/responsetemplate/",
        "/admin/templates_app/responsetemplate/add/",
        "/admin/templates_app/templaterevision/",
        "/admin/auth/user/",
    ],
)
def test_an_agent_never_reaches_the_admin(agent_user, path):
    response = client_for(agent_user).get(path)
    # Django admin sends a non-staff user to its login page: nothing of the page is shown.
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_supervisor_and_admin_api_pages_are_forbidden_to_an_agent(agent_user):
    client = token_client(token_issue(user=agent_user))
    assert client.get(reverse("api-model-versions")).status_code == 403


def test_a_supervisor_may_read_templates_but_not_change_them(supervisor_user, catalog_admin_user):
    template = template_create(
        key="cards.lost", title="Lost card", body="We blocked it.", user=catalog_admin_user
    )
    client = client_for(supervisor_user)
    base = "/admin/templates_app/responsetemplate/"
    change = f"{base}{template.pk}/change/"
    assert client.get(change).status_code == 200  # a read-only view
    edit = {
        "title": "Hacked",
        "body": "Send us your PIN",
        "category": "cards",
        "locale": "en",
        "is_active": "on",
    }
    assert client.post(change, edit).status_code == 403
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}add/", {**edit, "key": "new.one"}).status_code == 403
    assert client.get(f"{base}import-csv/").status_code == 403
    # Bulk deactivation is not offered to a supervisor; posting it anyway changes nothing.
    client.post(base, {"action": "deactivate", "_selected_action": [template.pk]})
    revision = template.revisions.get()
    restore = f"{base}revision/{revision.pk}/restore/"
    assert client.post(restore).status_code == 403
    template.refresh_from_db()
    assert (template.title, template.body, template.is_active) == (
        "Lost card",
        "We blocked it.",
        True,
    )
    assert template.revisions.count() == 1
    assert not ResponseTemplate.objects.filter(key="new.one").exists()


# --- CSRF -----------------------------------------------------------------------------------


def _csrf_session(user) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/accounts/login/")  # sets the CSRF cookie
    return client, client.cookies["csrftoken"].value


def test_a_session_post_from_a_foreign_origin_fails_csrf(agent_user):
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    url = reverse("api-messages", args=[conversation.pk])
    client, csrf = _csrf_session(agent_user)
    # Even with a valid token in hand, a page on another origin is refused by its Origin.
    foreign = client.post(
        url,
        message_body("m-1"),
        "application/json",
        HTTP_X_CSRFTOKEN=csrf,
        HTTP_ORIGIN="https://evil.example",
    )
    assert foreign.status_code == 403
    assert "CSRF" in foreign.json()["detail"]
    missing = client.post(url, message_body("m-2"), "application/json")
    assert missing.status_code == 403
    assert not Message.objects.exists()
    # The same request from the site itself goes through: the refusal above was the CSRF check.
    own = client.post(
        url,
        message_body("m-3"),
        "application/json",
        HTTP_X_CSRFTOKEN=csrf,
        HTTP_ORIGIN="http://testserver",
    )
    assert own.status_code == 201


def test_a_session_post_to_a_plain_django_form_from_a_foreign_origin_fails(agent_user):
    client, csrf = _csrf_session(agent_user)
    response = client.post(
        "/accounts/logout/", {"csrfmiddlewaretoken": csrf}, HTTP_ORIGIN="https://evil.example"
    )
    assert response.status_code == 403


def test_token_calls_from_the_extension_need_no_csrf(agent_user, settings):
    settings.CORS_ALLOWED_ORIGINS = [EXTENSION]
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    client = token_client(token_issue(user=agent_user), enforce_csrf_checks=True)
    response = client.post(
        reverse("api-messages", args=[conversation.pk]),
        message_body(),
        "application/json",
        HTTP_ORIGIN=EXTENSION,
    )
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == EXTENSION


# --- CORS -----------------------------------------------------------------------------------


def _preflight(origin: str, path: str = "/api/conversations"):
    return Client().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def test_cors_allows_exactly_the_configured_origins(agent_user, settings):
    settings.CORS_ALLOWED_ORIGINS = [EXTENSION]
    allowed = _preflight(EXTENSION)
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == EXTENSION
    assert "authorization" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed  # tokens, not cookies
    for origin in (
        "https://evil.example",
        "chrome-extension://someotherextensionid",
        "null",
        EXTENSION + ".evil.example",
    ):
        assert "Access-Control-Allow-Origin" not in _preflight(origin), origin
    # Outside the API nothing is shared, even with the extension.
    assert "Access-Control-Allow-Origin" not in _preflight(EXTENSION, "/panel/")
    client = token_client(token_issue(user=agent_user))
    evil = client.get(reverse("api-conversations"), HTTP_ORIGIN="https://evil.example")
    assert evil.status_code == 200  # served (the token is the guard)...
    assert "Access-Control-Allow-Origin" not in evil  # ...but no foreign page may read it


def test_cors_origins_come_from_extension_origins():
    import subprocess
    import sys

    from tests.live import ROOT

    script = "from django.conf import settings; print(settings.CORS_ALLOWED_ORIGINS)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "EXTENSION_ORIGINS": f"{EXTENSION}, chrome-extension://second",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == str([EXTENSION, "chrome-extension://second"]), result.stderr


# --- Rate limit -----------------------------------------------------------------------------


@pytest.fixture
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_burst_of_picks_beyond_the_rate_gets_429_for_that_agent_only(
    agent_user, other_agent, settings, empty_cache
):
    settings.API_RATE = "5/minute"
    template = factories.TemplateFactory()
    mine = factories.ConversationFactory(assigned_agent=agent_user)
    theirs = factories.ConversationFactory(assigned_agent=other_agent)

    def pick(client, conversation, n):
        body = {
            "conversation": conversation.pk,
            "suggestion": None,
            "template": template.key,
            "rank": None,
            "action": "inserted",
            "client_id": f"{conversation.pk}-{n}",
        }
        return client.post(reverse("api-picks"), body, "application/json")

    ann = token_client(token_issue(user=agent_user))
    statuses = [pick(ann, mine, n).status_code for n in range(7)]
    assert statuses == [201] * 5 + [429] * 2
    limited = pick(ann, mine, 7)
    assert int(limited["Retry-After"]) > 0
    assert "throttled" in limited.json()["detail"]
    # Another agent is unaffected.
    otto = token_client(token_issue(user=other_agent))
    assert pick(otto, theirs, 0).status_code == 201
    assert Pick.objects.filter(conversation=mine).count() == 5


# --- Escaping in the admin ------------------------------------------------------------------


def test_template_markup_is_shown_as_text_in_the_admin(catalog_admin_user, supervisor_user):
    template = template_create(
        key="xss.probe",
        title=f"Probe {IMG}",
        body=f"Hello {SCRIPT} and {LINK}",
        category="xss",
        user=catalog_admin_user,
    )
    revision = template.revisions.get()
    pages = [
        "/admin/templates_app/responsetemplate/",
        "/admin/templates_app/responsetemplate/?q=probe",
        f"/admin/templates_app/responsetemplate/{template.pk}/change/",
        "/admin/templates_app/templaterevision/",
        f"/admin/templates_app/templaterevision/{revision.pk}/change/",
    ]
    for user in (catalog_admin_user, supervisor_user):
        client = client_for(user)
        for page in pages:
            html = client.get(page).content.decode()
            assert live_markup(html) == [], (user.username, page)
            if page.endswith("/change/"):
                assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html, page
                assert "Probe &lt;img src=x onerror=" in html, page


class _Markup(HTMLParser):
    """Elements and attributes of a page that would run the probe's code."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") and "__xss" in value:
                self.found.append(f"<{tag} {name}>")
            if name in ("href", "src", "action") and value.lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and "__xss" in data:
            self.found.append("<script>")


def live_markup(html: str) -> list[str]:
    parser = _Markup()
    parser.feed(html)
    return parser.found


def test_message_markup_is_json_text_in_the_api(agent_user):
    conversation = factories.ConversationFactory(assigned_agent=agent_user, customer_name=SCRIPT)
    factories.MessageFactory(conversation=conversation, text=IMG)
    response = client_for(agent_user).get(reverse("api-conversation", args=[conversation.pk]))
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    body = response.json()
    assert (body["customer_name"], body["messages"][0]["text"]) == (SCRIPT, IMG)
