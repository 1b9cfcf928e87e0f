"""The demo helpdesk: a small support chat over the service's own conversations.

It exists so that a newcomer can play the customer in one window and the agent in another and
watch the suggestions arrive, with the browser extension or with the web panel beside it. The
views are adapters like any other: they check access, call a service or a selector, serialize.
Off unless DEMO_HELPDESK (default: DEBUG) is on, because a customer link opens a conversation
to anyone who holds it.
"""

import json
import secrets
from functools import wraps
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assist.access import conversation_for_user, require_role
from assist.live.conversations import conversation_close
from assist.live.messages import (
    CUSTOMER_LINK,
    InvalidInput,
    conversation_open,
    message_ingest,
)
from assist.live.selectors import open_conversations_for_agent
from assist.models import Conversation, Message
from assist.roles import AGENT

CHANNEL = "demo"
# Customer links are signed with SECRET_KEY under this salt: unguessable, and useless for
# anything but the one conversation they name.
LINK_SALT = "assist.demo.customer-link"
MESSAGES_SHOWN = 200
# The Spanish-speaking demo customer's names and opening messages.
SPANISH_CUSTOMERS = json.loads(
    Path(__file__).with_name("phrasings_es.json").read_text(encoding="utf-8")
)
DEMO_CUSTOMERS = [
    "Jo Park", "Amara Okafor", "Lukas Weber", "Sofia Rossi", "Mei Tanaka", "Diego Alvarez",
    "Priya Nair", "Tom Becker", "Chloé Martin", "Noah Smith",
]  # fmt: skip


def _enabled(view):
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.DEMO_HELPDESK:
            raise Http404("The demo helpdesk is off (DEMO_HELPDESK).")
        return view(request, *args, **kwargs)

    return wrapped


def customer_link(conversation: Conversation) -> str:
    token = signing.dumps(conversation.pk, salt=LINK_SALT)
    return reverse("demo-customer", kwargs={"token": token})


def _conversation_for_link(token: str) -> Conversation:
    """The conversation a customer link names. The signature is the access check here: the
    customer has no account, the link is their credential (like a chat widget's session)."""
    try:
        conversation_id = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature as error:
        raise Http404("No such chat.") from error
    conversation = Conversation.objects.filter(pk=conversation_id, channel=CHANNEL).first()
    if conversation is None:
        raise Http404("No such chat.")
    return conversation


def _message_rows(conversation: Conversation) -> list[dict[str, Any]]:
    # `id` is the client id: the stable identity a helpdesk page shows and the extension re-sends.
    recent = conversation.messages.exclude(role=Message.Role.SYSTEM).order_by("-sent_at", "-id")
    return [
        {"id": m.client_id, "role": m.role, "text": m.text, "sent_at": m.sent_at.isoformat()}
        for m in reversed(recent[:MESSAGES_SHOWN])
    ]


def _conversation_json(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "external_id": conversation.external_id,
        "customer_name": conversation.customer_name,
        "status": conversation.status,
        "messages": _message_rows(conversation),
    }


@_enabled
@login_required
@require_GET
def helpdesk(request: HttpRequest) -> HttpResponse:
    """The agent's side: inbox, the open conversation, a reply box and (optionally) the panel."""
    require_role(request.user, AGENT)
    conversations = list(open_conversations_for_agent(request.user).filter(channel=CHANNEL))
    current = None
    if request.GET.get("c"):
        current = conversation_for_user(request.user, request.GET["c"], write=True)
    elif conversations:
        current = conversations[0]
    return render(
        request,
        "assist/demo/helpdesk.html",
        {
            "conversations": conversations,
            "current": current,
            "customer_url": customer_link(current) if current else "",
        },
    )


@_enabled
@login_required
@require_POST
def helpdesk_new_customer(request: HttpRequest) -> HttpResponse:
    """Starts a chat with a made-up customer, assigned to the signed-in agent. A Spanish-speaking
    one (`language=es`) opens the chat with a message in Spanish; the worker detects the
    language and the panel shows the Spanish texts of the templates."""
    require_role(request.user, AGENT)
    spanish = request.POST.get("language") == "es"
    names = SPANISH_CUSTOMERS["names"] if spanish else DEMO_CUSTOMERS
    name = request.POST.get("customer_name", "").strip()[:200] or secrets.choice(names)
    conversation, _ = conversation_open(
        agent=cast(User, request.user),  # require_role let only a signed-in agent through
        external_id=f"demo-{secrets.token_hex(6)}",
        channel=CHANNEL,
        customer_name=name,
    )
    if spanish:
        message_ingest(
            conversation_id=conversation.pk,
            sender=CUSTOMER_LINK,
            role=Message.Role.CUSTOMER,
            text=secrets.choice(SPANISH_CUSTOMERS["openers"]),
            client_id=f"demo-opener-{conversation.pk}",
        )
    return redirect(f"{reverse('demo-helpdesk')}?c={conversation.pk}&new=1")


@_enabled
@login_required
@require_GET
def helpdesk_conversation(request: HttpRequest, conversation_id: int) -> JsonResponse:
    """What the agent page polls: the conversation and its messages, oldest first."""
    require_role(request.user, AGENT)
    conversation = conversation_for_user(request.user, conversation_id)
    return JsonResponse(_conversation_json(conversation))


@_enabled
@login_required
@require_POST
def helpdesk_close(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Closes (resolves) the chat; it leaves the inbox and every panel's tabs."""
    conversation_close(user=request.user, conversation_id=conversation_id)
    return redirect("demo-helpdesk")


@_enabled
@require_GET
def customer(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's chat window; the signed link is its only key."""
    conversation = _conversation_for_link(token)
    return render(
        request,
        "assist/demo/customer.html",
        {"conversation": conversation, "token": token, "agent": conversation.assigned_agent},
    )


@_enabled
@require_http_methods(["GET", "POST"])
def customer_messages(request: HttpRequest, token: str) -> JsonResponse:
    """GET: the chat so far. POST {text, client_id}: the customer says something."""
    conversation = _conversation_for_link(token)
    if request.method == "POST":
        try:
            message_ingest(
                conversation_id=conversation.pk,
                sender=CUSTOMER_LINK,
                role=Message.Role.CUSTOMER,
                text=request.POST.get("text", ""),
                client_id=request.POST.get("client_id", ""),
            )
        except InvalidInput as error:
            return JsonResponse({"code": error.code, "detail": str(error)}, status=400)
    body = _conversation_json(conversation)
    del body["id"]  # the customer needs no internal ids
    return JsonResponse(body)
