import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory, override_settings

from assist.models import Conversation, Message
from assist.roles import user_roles
from templates_app.models import ResponseTemplate, TemplateVariant

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", conversations=40, force=True, stdout=out, **options)
    return out.getvalue()


def test_seeds_users_catalog_and_conversations_and_is_idempotent():
    output = seed()
    counts = (
        ResponseTemplate.objects.count(),
        Conversation.objects.count(),
        Message.objects.count(),
    )
    assert 60 <= counts[0] <= 100
    assert counts[1] == 40
    assert Message.objects.filter(role="agent", template__isnull=False).exists()
    assert "alice / alice-demo" in output
    # Spanish and German texts of the most used templates (assist/demo/catalog_variants.csv).
    variants = TemplateVariant.objects.count()
    assert TemplateVariant.objects.filter(locale="es").count() >= 15
    assert TemplateVariant.objects.filter(locale="de").count() >= 15

    seed()
    assert (
        ResponseTemplate.objects.count(),
        Conversation.objects.count(),
        Message.objects.count(),
    ) == counts
    assert TemplateVariant.objects.count() == variants


def test_demo_logins_work_and_carry_their_roles():
    seed()
    expected = {"alice": {"agent"}, "carol": {"catalog_admin"}, "sam": {"supervisor"}}
    for username, roles in expected.items():
        # As the sign-in form does: with the request (sign-in throttling needs its address).
        request = RequestFactory().post("/accounts/login/")
        user = authenticate(request, username=username, password=f"{username}-demo")
        assert user is not None
        assert set(user_roles(user)) == roles
    # Agents have open conversations waiting for them in the panel.
    assert Conversation.objects.filter(assigned_agent__username="alice", status="open").exists()


@override_settings(DEBUG=False)
def test_refuses_without_debug_unless_forced():
    with pytest.raises(CommandError, match="published passwords"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not ResponseTemplate.objects.exists()
