"""Hot swap under traffic: a real worker keeps ranking while the active model version changes."""

import os
import shutil
import time

import pytest
from django.core.management import call_command

from assist.lifecycle.registry import model_version_activate
from assist.models import Message, ModelVersion, Suggestion
from assist.tokens import token_issue
from tests import factories
from tests.live import (
    asgi_server,
    celery_worker,
    free_port,
    live_env,
    post_customer_message,
    wait_for,
)
from tests.tiny_models import DEMO_CATALOG

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)"),
]

MESSAGES = 40


def test_flipping_the_active_version_while_messages_flow_fails_none(demo_ranker_dir, tmp_path):
    call_command("import_catalog", DEMO_CATALOG, verbosity=0)
    old = model_version_activate(
        version=ModelVersion.objects.create(name="old", path=str(demo_ranker_dir))
    )
    copy = tmp_path / "new-model"
    shutil.copytree(demo_ranker_dir, copy)
    new = ModelVersion.objects.create(name="new", path=str(copy))
    agent = factories.agent()
    token = token_issue(user=agent)
    # One conversation per message, so that no ranking is dropped as stale.
    conversations = [factories.ConversationFactory(assigned_agent=agent) for _ in range(MESSAGES)]
    env = live_env(redis_url=os.environ["REDIS_URL"], ranker_dir=demo_ranker_dir)
    env["LIVE_LOG_DIR"] = str(tmp_path)

    with celery_worker(env, name="swap"), asgi_server(env, free_port()) as base:
        for i, conversation in enumerate(conversations):
            if i == MESSAGES // 2:
                model_version_activate(version=new)
            post_customer_message(base, token, conversation.pk, "my card is lost")
            time.sleep(0.2)
        wait_for(
            lambda: Suggestion.objects.count() == MESSAGES, timeout=120, what="every suggestion"
        )
        # Traffic after the swap settles on the new version.
        late = factories.ConversationFactory(assigned_agent=agent)
        deadline = time.monotonic() + 60
        while True:
            post_customer_message(base, token, late.pk, "hello")
            time.sleep(0.5)
            latest = Suggestion.objects.filter(conversation=late).order_by("-seq").first()
            if latest is not None and latest.model_version_id == new.pk:
                break
            assert time.monotonic() < deadline, "the worker never switched to the new version"

    ranked = Suggestion.objects.filter(conversation__in=conversations)
    assert ranked.count() == Message.objects.filter(conversation__in=conversations).count()
    # Each suggestion records the version that really ranked it: the old one before the swap
    # (and while the new one loaded), the new one after.
    versions = set(ranked.values_list("model_version_id", flat=True))
    assert old.pk in versions and versions <= {old.pk, new.pk}
    failures = [
        line for line in (tmp_path / "worker-swap.log").read_text().splitlines() if " ERROR" in line
    ]
    assert failures == []
