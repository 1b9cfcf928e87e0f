"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# Django must be set up before anything imports models (the routing below does).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from assist.live.routing import websocket_urlpatterns  # noqa: E402


class ConfiguredOriginValidator(OriginValidator):
    """AllowedHostsOriginValidator plus the configured extension origins
    (chrome-extension://<id>), which are not host names. A handshake with no Origin is refused.

    The list is read from settings at each handshake rather than frozen at import, so what the
    tests override is what is checked.
    """

    def __init__(self, application: object) -> None:
        super().__init__(application, [])

    def valid_origin(self, parsed_origin: object) -> bool:
        self.allowed_origins = [*settings.ALLOWED_HOSTS, *settings.EXTENSION_ORIGINS]
        return super().valid_origin(parsed_origin)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": ConfiguredOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
