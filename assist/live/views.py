"""The agent panel page; everything after the page load goes over the WebSocket."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from assist.access import require_role
from assist.roles import AGENT, SUPERVISOR


def panel(request: HttpRequest) -> HttpResponse:
    """The agent panel; it talks to the server over the WebSocket (docs/protocol.md).

    Embedded (`?embed=1`) it may be framed by this site (the demo helpdesk) and by the browser
    extension's side panel, and it may load signed out: the page holds nothing private, and
    its socket then authenticates with the token the extension hands over by postMessage.
    """
    embedded = request.GET.get("embed") == "1"
    if request.user.is_authenticated:
        require_role(request.user, AGENT, SUPERVISOR)
    elif not embedded:
        return redirect_to_login(request.get_full_path())
    response = render(request, "assist/panel.html", {"ws_path": "/ws/assist/"})
    if embedded:
        ancestors = settings.EXTENSION_ORIGINS or ["chrome-extension:"]
        # What django-csp's @csp_replace sets, for this response only: the site's policy
        # (config/settings/base.py) with these frame-ancestors.
        response._csp_replace = {"frame-ancestors": ["'self'", *ancestors]}  # type: ignore[attr-defined]
        response.xframe_options_exempt = True  # the CSP decides who may frame it
    return response
