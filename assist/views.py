"""Plain pages: the landing page, where each role starts, the error pages and the health check
(the agent panel: assist/live/views.py)."""

from django.db import connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse

from assist.access import AnyUser
from assist.roles import AGENT, CATALOG_ADMIN, SUPERVISOR, user_roles

# Where each role works, in the order a user with several roles is sent: an agent answers
# chats, a supervisor reviews them, a catalog admin edits the templates.
START_PAGES = (
    (AGENT, "panel", "the agent panel"),
    (SUPERVISOR, "review:conversations", "review"),
    (CATALOG_ADMIN, "admin:templates_app_responsetemplate_changelist", "the template catalog"),
)


def start_page(user: AnyUser) -> tuple[str, str]:
    """(URL, name) of the page where `user` works; the home page for a user with no role."""
    roles = user_roles(user)
    for role, url_name, label in START_PAGES:
        if role in roles:
            return reverse(url_name), label
    return reverse("home"), "the home page"


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "assist/home.html", {"roles": sorted(user_roles(request.user))})


def landing(request: HttpRequest) -> HttpResponseRedirect:
    """Where sign-in sends a user who did not ask for a page (LOGIN_REDIRECT_URL)."""
    return redirect(start_page(request.user)[0])


def _error_page(request: HttpRequest, template: str, status: int, detail: str = "") -> HttpResponse:
    url, label = start_page(request.user)
    context = {"start_url": url, "start_label": label, "detail": detail}
    return render(request, template, context, status=status)


def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: what the refusal says (assist/access.py writes it for people) and a way
    to the page the user can use."""
    return _error_page(request, "403.html", 403, str(exception))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404. The exception's text is not shown: it may name internals (a URL pattern)."""
    return _error_page(request, "404.html", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a page with no context, as Django's own, so that it renders even when the
    database (sessions, users) is what failed."""
    return HttpResponseServerError(loader.get_template("500.html").render())


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
