"""Plain pages: the landing page and the health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from assist.access import require_role
from assist.roles import AGENT, SUPERVISOR, user_roles


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "assist/home.html", {"roles": sorted(user_roles(request.user))})


@login_required
def panel(request: HttpRequest) -> HttpResponse:
    """The agent panel; it talks to the server over the WebSocket (docs/protocol.md)."""
    require_role(request.user, AGENT, SUPERVISOR)
    return render(request, "assist/panel.html", {"ws_path": "/ws/assist/"})


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
