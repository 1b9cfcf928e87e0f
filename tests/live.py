"""What the end-to-end tests share: the live stack (devtools/processes.py), the browser's
command line, a customer message posted as the extension posts it."""

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import requests
from django.contrib.auth.hashers import make_password
from django.db import connections

from devtools.processes import (  # noqa: F401  (the tests' one import for the live stack)
    ROOT,
    asgi_server,
    celery_worker,
    database_url,
    free_port,
    live_env,
    stop,
    wait_for,
)

T = TypeVar("T")


def outside_the_browser(query: Callable[[], T]) -> T:
    """Runs an ORM call on a thread of its own: Playwright's sync API keeps an event loop
    running on the test's thread, where Django refuses synchronous database calls. The thread's
    connection is closed after the call: with the connection pool, a connection left open by a
    finished thread stays checked out, and a test that polls would drain the pool for every
    test after it."""

    def run() -> T:
        try:
            return query()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


# The browser tests' agent signs in with this password. It is hashed with PBKDF2, as production
# does: the servers the tests start run with the production hashers, not the suite's fast one.
BROWSER_PASSWORD = "ann-pass"


def browser_agent(**fields: object):
    """An agent (username "ann" unless given) who can sign in through the login form."""
    from tests import factories

    agent = factories.agent(**{"username": "ann", **fields})
    agent.password = make_password(BROWSER_PASSWORD, hasher="pbkdf2_sha256")
    agent.save(update_fields=["password"])
    return agent


def sign_in(page, base: str, next_path: str = "", *, username: str = "ann") -> None:
    """Signs in through the login form as a person would; `next_path` (URL-encoded) is where
    the form sends them after, their role's landing page without it."""
    page.goto(f"{base}/accounts/login/" + (f"?next={next_path}" if next_path else ""))
    page.fill("#id_username", username)
    page.fill("#id_password", BROWSER_PASSWORD)
    page.click("button[type=submit]")


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def post_customer_message(base: str, token: str, conversation_id: int, text: str) -> int:
    """POST a customer message through the REST API, as the extension does; returns its id."""
    posted = requests.post(
        f"{base}/api/conversations/{conversation_id}/messages",
        json={"role": "customer", "text": text, "client_id": str(uuid.uuid4())},
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert posted.status_code == 201, posted.text
    return int(posted.json()["id"])
