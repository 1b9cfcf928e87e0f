"""WebSocket routes. The live-assist consumer arrives with the live-suggestions work."""

websocket_urlpatterns: list = []
