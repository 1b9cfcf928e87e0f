"""What the end-to-end tests share: the live stack (devtools/processes.py), the browser's
command line, a customer message posted as the extension posts it."""

import uuid

import requests

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
