"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os
from typing import Any
from urllib.parse import urlparse

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# Django must be set up before anything imports models (the routing below does).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator, WebsocketDenier  # noqa: E402
from django.conf import settings  # noqa: E402
from django.http.request import validate_host  # noqa: E402

from assist.live.routing import websocket_urlpatterns  # noqa: E402
from assist.startup import startup_objects_frozen  # noqa: E402


class ConfiguredOriginValidator(OriginValidator):
    """A handshake passes from this site's own origin, a CSRF_TRUSTED_ORIGINS entry or a
    configured extension (chrome-extension://<id>); with no Origin, or any other, it is refused.

    "This site's own origin" is what a browser sends for a page of this server: a host in
    ALLOWED_HOSTS, the same host and port as the handshake's Host header, and `https` over
    `wss` (or behind a proxy that says so, SECURE_PROXY_SSL_HEADER), `http` otherwise.
    Channels' AllowedHostsOriginValidator compares the host alone, so a page on another port
    or scheme of an allowed host (another application on the same machine) could open a socket
    with the agent's session. Settings are read at each handshake, so what tests override is
    what is checked.
    """

    def __init__(self, application: Any) -> None:
        super().__init__(application, [])

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        # Channels' check sees the Origin alone; this one needs the handshake's Host too.
        origin = dict(scope.get("headers", [])).get(b"origin")
        parsed = urlparse(origin.decode("latin1")) if origin is not None else None
        try:
            valid = self.valid_origin_for(parsed, scope)
        except ValueError:  # a port that is not a number, in the Origin or the Host header
            valid = False
        if valid:
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)

    def valid_origin_for(self, parsed_origin: Any, scope: dict) -> bool:
        if parsed_origin is None or parsed_origin.hostname is None:
            return False
        listed = [*settings.CSRF_TRUSTED_ORIGINS, *settings.EXTENSION_ORIGINS]
        if any(self.match_allowed_origin(parsed_origin, origin) for origin in listed):
            return True
        scheme, host, port = self._site_origin(scope)
        return (
            parsed_origin.scheme == scheme
            and self.get_origin_port(parsed_origin) == port
            and (host is None or parsed_origin.hostname == host)
            and validate_host(parsed_origin.hostname, settings.ALLOWED_HOSTS)
        )

    def _site_origin(self, scope: dict) -> tuple[str, str | None, int | None]:
        """(scheme, host, port) of a page served by this server for this handshake."""
        headers = dict(scope.get("headers", []))
        secure = scope.get("scheme") == "wss"
        if settings.SECURE_PROXY_SSL_HEADER:
            name, value = settings.SECURE_PROXY_SSL_HEADER
            header = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin1")
            secure = secure or headers.get(header, b"").decode("latin1") == value
        scheme = "https" if secure else "http"
        host_header = headers.get(b"host", b"").decode("latin1")
        if not host_header:  # no Host (only an in-process test client): the default port
            return scheme, None, self.get_origin_port(urlparse(f"{scheme}://x"))
        parsed = urlparse(f"{scheme}://{host_header}")
        return scheme, parsed.hostname, self.get_origin_port(parsed)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": ConfiguredOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
# Everything the server keeps is loaded: full collections need not walk it (assist/startup.py).
startup_objects_frozen()
