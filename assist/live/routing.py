from django.urls import path

from assist.live.consumers import AssistConsumer

websocket_urlpatterns = [path("ws/assist/", AssistConsumer.as_asgi())]
