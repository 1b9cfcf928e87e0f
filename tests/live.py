"""What the end-to-end tests share: the live stack (devtools/processes.py), the browser's
command line, a customer message posted as the extension posts it."""

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import requests
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
