"""Plain pages: the landing page and the health check (the agent panel: assist/live/views.py)."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from assist.roles import user_roles


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "assist/home.html", {"roles": sorted(user_roles(request.user))})


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
