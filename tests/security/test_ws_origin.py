"""The socket's Origin check compares scheme and port too, not the host alone: a page on
another port or scheme of an allowed host is another site (another application on the same
machine) and must not open a socket with the agent's session or token."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from assist.tokens import token_issue
from config.asgi import application
from tests import factories

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
]


async def handshake(*, origin: str, host: str | None, scheme: str = "ws", **headers: str) -> bool:
    agent = await sync_to_async(factories.agent)()
    raw = await sync_to_async(token_issue)(user=agent)
    sent = [(b"origin", origin.encode()), (b"authorization", f"Token {raw}".encode())]
    if host is not None:
        sent.append((b"host", host.encode()))
    sent += [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    communicator = WebsocketCommunicator(application, "/ws/assist/", headers=sent)
    communicator.scope["scheme"] = scheme
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "passes"),
    [
        ("http://testserver:8000", "testserver:8000", "ws", True),
        ("https://testserver", "testserver", "wss", True),
        ("http://testserver", "testserver", "ws", True),
        ("http://testserver:9999", "testserver:8000", "ws", False),  # another port
        ("http://testserver", "testserver:8000", "ws", False),  # port 80 is another origin
        ("https://testserver:8000", "testserver:8000", "ws", False),  # another scheme
        ("http://testserver", "testserver", "wss", False),  # a plain page over wss
        ("http://localhost:8000", "testserver:8000", "ws", False),  # another allowed host
        ("http://testserver:80x", "testserver:8000", "ws", False),  # not a port
        ("null", "testserver:8000", "ws", False),  # a sandboxed frame
    ],
)
@override_settings(ALLOWED_HOSTS=["testserver", "localhost"])
async def test_the_origin_must_be_the_handshakes_own_scheme_host_and_port(
    origin, host, scheme, passes
):
    assert await handshake(origin=origin, host=host, scheme=scheme) is passes


@override_settings(
    ALLOWED_HOSTS=["assist.example.com"],
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
async def test_behind_a_tls_proxy_the_https_page_passes_and_the_http_one_does_not():
    site = {"host": "assist.example.com", "x_forwarded_proto": "https"}
    assert await handshake(origin="https://assist.example.com", **site)
    assert not await handshake(origin="http://assist.example.com", **site)


@override_settings(
    ALLOWED_HOSTS=["testserver"], CSRF_TRUSTED_ORIGINS=["https://helpdesk.example.com"]
)
async def test_a_trusted_origin_passes_with_its_own_scheme_and_port_only():
    assert await handshake(origin="https://helpdesk.example.com", host="testserver:8000")
    assert not await handshake(origin="http://helpdesk.example.com", host="testserver:8000")
    assert not await handshake(origin="https://helpdesk.example.com:8443", host="testserver:8000")
