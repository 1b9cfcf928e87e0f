"""Model lifecycle: deactivated templates, the registry, hot swap, retraining from the logs."""

import datetime as dt
import io
import json
import shutil
import time

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from assist.demo.generator import generate_conversations, write_jsonl
from assist.lifecycle.registry import (
    NothingToRollBackTo,
    model_version_activate,
    model_version_rollback,
)
from assist.live.suggestions import suggestion_create
from assist.models import ModelVersion
from assist.serving import model_cache
from templates_app.models import ResponseTemplate
from templates_app.services import templates_set_active
from tests import factories
from tests.conftest import client_for
from tests.tiny_models import DEMO_CATALOG, make_tiny_base

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog() -> None:
    call_command("import_catalog", DEMO_CATALOG, stdout=io.StringIO())


def version_at(path, name: str, *, active: bool = False) -> ModelVersion:
    version = ModelVersion.objects.create(name=name, path=str(path))
    return model_version_activate(version=version) if active else version


def rank_new_message(conversation, text: str):
    """A new customer message, ranked in this process as a worker would rank it."""
    return suggestion_create(
        message_id=factories.MessageFactory(conversation=conversation, text=text).pk
    )


def test_deactivated_templates_are_never_suggested(
    agent_user, catalog, demo_ranker_dir, settings, catalog_admin_user
):
    settings.RANKER_DIR = demo_ranker_dir
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    text = "I lost my card, please block it"
    first = rank_new_message(conversation, text)
    shown = [item["key"] for item in first.items]
    templates_set_active(
        templates=ResponseTemplate.objects.filter(key__in=shown[:3]),
        is_active=False,
        user=catalog_admin_user,
    )

    again = rank_new_message(conversation, text)
    keys = [item["key"] for item in again.items]
    assert not set(keys) & set(shown[:3])
    assert set(keys) <= set(
        ResponseTemplate.objects.filter(is_active=True).values_list("key", flat=True)
    )
    assert len(keys) == settings.SUGGESTION_K


def test_a_catalog_write_that_bypasses_the_services_reaches_the_next_ranking(
    agent_user, catalog, demo_ranker_dir, settings, django_capture_on_commit_callbacks
):
    """Workers keep the active catalog in memory: a change made anyhow (here a shell's
    queryset.update, no service, no revision) must be in the very next ranking and its push."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from assist.live.events import conversation_group

    settings.RANKER_DIR = demo_ranker_dir
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    text = "I lost my card, please block it"
    first = rank_new_message(conversation, text)
    shown = [item["key"] for item in first.items]
    ResponseTemplate.objects.filter(key=shown[0]).update(is_active=False)
    # Every other title changes: the second ranking reads one more message, so which templates
    # it lists may differ from the first's.
    ResponseTemplate.objects.exclude(key=shown[0]).update(title="Renamed in a shell")

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(conversation_group(conversation.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        again = rank_new_message(conversation, text)
    frame = async_to_sync(layer.receive)(channel)["frame"]
    assert frame["suggestion"] == again.pk
    titles = {item["key"]: item["title"] for item in frame["items"]}
    assert titles and shown[0] not in titles
    assert set(titles.values()) == {"Renamed in a shell"}


def test_rankings_that_race_for_a_sequence_number_both_store(
    agent_user, catalog, demo_ranker_dir, settings, monkeypatch
):
    """No lock orders two rankings of one conversation: the one that loses the race for a
    sequence number (the unique constraint says so) reads again and takes the next."""
    from assist.live import suggestions

    settings.RANKER_DIR = demo_ranker_dir
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    earlier = factories.MessageFactory(conversation=conversation, text="hello")
    message = factories.MessageFactory(conversation=conversation, text="my card is late")
    insert = suggestions.single_statement

    def a_rival_stores_first():  # between this ranking's read of the last seq and its insert
        if not conversation.suggestions.exists():
            factories.SuggestionFactory(conversation=conversation, message=earlier, seq=1)
        return insert()

    monkeypatch.setattr(suggestions, "single_statement", a_rival_stores_first)
    stored = suggestion_create(message_id=message.pk)
    assert stored.seq == 2
    assert list(conversation.suggestions.values_list("message", "seq")) == [
        (earlier.pk, 1),
        (message.pk, 2),
    ]


@pytest.mark.parametrize(
    ("meanwhile", "stored"), [("agent", True), ("customer", False)], ids=["reply", "customer"]
)
def test_a_customer_message_during_the_ranking_drops_it_unstored_and_unpushed(
    agent_user, catalog, demo_ranker_dir, settings, monkeypatch, meanwhile, stored,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """The INSERT's own condition: a newer customer message that came while the model ran
    makes the list useless to the agent; an agent's reply does not."""
    from assist.live import suggestions

    settings.RANKER_DIR = demo_ranker_dir
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    message = factories.MessageFactory(conversation=conversation, text="my card is late")
    insert = suggestions.single_statement

    def a_message_arrives_first():  # after the model ran, before the list is stored
        factories.MessageFactory(conversation=conversation, role=meanwhile, text="hello?")
        return insert()

    monkeypatch.setattr(suggestions, "single_statement", a_message_arrives_first)
    with django_capture_on_commit_callbacks() as pushes:
        result = suggestion_create(message_id=message.pk)
    assert (result is not None, conversation.suggestions.count(), len(pushes)) == (
        (True, 1, 1) if stored else (False, 0, 0)
    )


def test_a_message_with_a_newer_customer_message_is_not_ranked(
    agent_user, catalog, demo_ranker_dir, settings, monkeypatch
):
    """Checked before the model runs, too: a task that waited behind a newer message."""
    from assist.live import suggestions

    settings.RANKER_DIR = demo_ranker_dir
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    late = factories.MessageFactory(conversation=conversation, text="my card is late")
    factories.MessageFactory(conversation=conversation, text="hello?")
    monkeypatch.setattr(suggestions, "serving_ranker", lambda *a, **k: pytest.fail("ranked"))
    assert suggestion_create(message_id=late.pk) is None
    assert not conversation.suggestions.exists()


def test_a_redelivered_ranking_pushes_the_stored_list_again(
    agent_user, catalog, demo_ranker_dir, settings, django_capture_on_commit_callbacks
):
    """A task delivered twice stores one list; the second delivery pushes that one again,
    rendered exactly as the selector renders the stored row for the conversation."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from assist.live.events import conversation_group
    from assist.live.selectors import suggestion_frame
    from assist.models import Suggestion

    settings.RANKER_DIR = demo_ranker_dir
    agent_user.first_name = "Dana"
    agent_user.save(update_fields=["first_name"])
    conversation = factories.ConversationFactory(assigned_agent=agent_user)
    message = factories.MessageFactory(conversation=conversation, text="my card is late")
    first = suggestion_create(message_id=message.pk)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(conversation_group(conversation.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        again = suggestion_create(message_id=message.pk)
    frame = async_to_sync(layer.receive)(channel)["frame"]
    assert again.pk == first.pk and conversation.suggestions.count() == 1
    stored = Suggestion.objects.select_related("conversation__assigned_agent", "model_version")
    assert frame == suggestion_frame(stored.get(pk=first.pk))


def test_promote_then_roll_back_returns_to_the_previous_version(tmp_path):
    old = version_at(tmp_path / "a", "a", active=True)
    new = version_at(tmp_path / "b", "b")
    model_version_activate(version=new)
    assert ModelVersion.objects.get(is_active=True) == new

    assert model_version_rollback() == old
    assert list(ModelVersion.objects.filter(is_active=True)) == [old]


def test_roll_back_with_no_earlier_version_is_refused_and_changes_nothing(tmp_path):
    only = version_at(tmp_path / "a", "a", active=True)
    with pytest.raises(NothingToRollBackTo):
        model_version_rollback()
    assert list(ModelVersion.objects.filter(is_active=True)) == [only]


def test_catalog_admins_promote_and_roll_back_in_the_admin_supervisors_cannot(
    tmp_path, catalog_admin_user, supervisor_user
):
    old = version_at(tmp_path / "a", "a", active=True)
    new = version_at(tmp_path / "b", "b")
    url = reverse("admin:assist_modelversion_changelist")
    promote = {"action": "promote", "_selected_action": [new.pk]}

    # Supervisors may look at the registry (migration 0002) but not change it.
    client_for(supervisor_user).post(url, promote)
    assert ModelVersion.objects.get(is_active=True) == old

    admin = client_for(catalog_admin_user)
    assert admin.get(url).status_code == 200
    assert admin.post(url, promote).status_code == 302
    new.refresh_from_db()
    assert (new.is_active, new.activated_by, new.activated_how) == (
        True,
        catalog_admin_user,
        "promoted",
    )
    # Rolling back "to" the active version is refused and changes nothing.
    admin.post(url, {"action": "rollback", "_selected_action": [new.pk]})
    assert ModelVersion.objects.get(is_active=True) == new
    admin.post(url, {"action": "rollback", "_selected_action": [old.pk]})
    old.refresh_from_db()
    assert old.is_active and old.activated_how == "rolled back"
    assert old.activations[-1]["by"] == catalog_admin_user.username
    assert old.activations[-1]["replaced"] == "b"
    page = admin.get(reverse("admin:assist_modelversion_change", args=[old.pk]))
    assert "rolled back by " + catalog_admin_user.username in page.content.decode()


def test_roll_back_to_any_earlier_version_and_the_history_says_who_and_when(tmp_path, agent_user):
    v1 = version_at(tmp_path / "1", "v1", active=True)
    v2, v3, never = (version_at(tmp_path / n, n) for n in ("v2", "v3", "never"))
    model_version_activate(version=v2, by=agent_user)
    model_version_activate(version=v3)

    assert model_version_rollback(to=v1, by=agent_user) == v1  # past v2, two versions back
    assert list(ModelVersion.objects.filter(is_active=True)) == [v1]
    v1.refresh_from_db()
    assert [(e["how"], e["by"], e["replaced"]) for e in v1.activations] == [
        ("promoted", None, None),
        ("rolled back", agent_user.username, "v3"),
    ]
    assert v1.activations[0]["at"] < v1.activations[1]["at"]
    with pytest.raises(NothingToRollBackTo, match="never been active"):
        model_version_rollback(to=never)
    with pytest.raises(NothingToRollBackTo, match="already"):
        model_version_rollback(to=v1)
    assert list(ModelVersion.objects.filter(is_active=True)) == [v1]
    assert model_version_rollback() == v3  # no choice: the one v1 replaced


def test_a_new_active_version_loads_in_the_background_while_the_old_one_serves(
    tmp_path, demo_ranker_dir
):
    old = version_at(demo_ranker_dir, "old", active=True)
    copy = tmp_path / "new-model"
    shutil.copytree(demo_ranker_dir, copy)  # another directory: really loaded anew
    new = version_at(copy, "new")
    assert model_cache.serving_ranker()[0] == old

    model_version_activate(version=new)
    version, ranker = model_cache.serving_ranker()
    assert version == old  # no pause: the loaded version ranks until the new one is ready
    assert ranker.rank([ranker.build_context([("customer", "hi")])], k=3)[0]

    deadline = time.monotonic() + 60
    while model_cache.serving_ranker()[0] != new:
        assert time.monotonic() < deadline, "the new version never took over"
        time.sleep(0.05)
    assert model_cache.serving_ranker()[1].model_dir.resolve() == copy.resolve()


@pytest.mark.slow
def test_retraining_from_the_logs_registers_a_version_beside_the_active_one(
    tmp_path, catalog, demo_ranker_dir, settings
):
    from assist.lifecycle.retraining import RetrainOptions, ranker_retrain

    settings.RETRAIN_MIN_EXAMPLES = 50
    data = tmp_path / "logs.jsonl"
    records = generate_conversations(200, seed=7)
    start = timezone.now() - dt.timedelta(days=200)
    for day, record in enumerate(records):
        record["started_at"] = (start + dt.timedelta(days=day)).isoformat()
    write_jsonl(records, data)
    call_command("import_conversations", data, stdout=io.StringIO())
    active = version_at(demo_ranker_dir, "active", active=True)

    version = ranker_retrain(
        options=RetrainOptions(
            base_model=str(make_tiny_base(tmp_path / "base")),
            epochs=2,
            threads=1,
            promote_margin=None,
        )
    )

    # Published as an artifact that any host can fetch and verify.
    assert version.artifact and len(version.sha256) == 64 and not version.path
    assert (model_cache.model_dir(version) / "ranker.json").is_file()
    assert not version.is_active and ModelVersion.objects.get(is_active=True) == active
    metrics = version.metrics
    assert metrics["active_version"] == "active"
    assert metrics["test_examples"] == metrics["test"]["n_all"] > 0
    # Both models measured on the same test turns, as fractions, with the paired difference.
    for side in ("test", "active_on_same_test"):
        assert 0.0 < metrics[side]["top1_all"] <= metrics[side]["top5_all"] <= 1.0
    comparison = metrics["comparison"]
    assert comparison["difference"] == pytest.approx(
        metrics["test"]["top1_all"] - metrics["active_on_same_test"]["top1_all"]
    )
    assert comparison["low"] <= comparison["difference"] <= comparison["high"]
    assert metrics["split"]["conversations"] == {"train": 160, "dev": 20, "test": 20}


def test_the_external_re_ranker_reorders_stored_suggestions_and_sees_no_personal_data(
    agent_user, catalog, demo_ranker_dir, settings, stub
):
    settings.RANKER_DIR = demo_ranker_dir
    text = "card 4111 1111 1111 1111 lost, block it"

    def suggest():  # the same context each time: a new conversation with this one message
        conversation = factories.ConversationFactory(assigned_agent=agent_user)
        message = factories.MessageFactory(conversation=conversation, text=text)
        return suggestion_create(message_id=message.pk)

    plain = suggest()
    classifier_order = [item["key"] for item in plain.items]

    settings.EXTERNAL_RERANK_URL = stub.url
    settings.EXTERNAL_RERANK_TOP_M = 5
    settings.EXTERNAL_RERANK_WEIGHT = 0.9
    favourite = classifier_order[4]
    stub.reply({"probabilities": {k: (0.96 if k == favourite else 0.01) for k in classifier_order}})
    reranked = suggest()
    assert reranked.items[0]["key"] == favourite
    assert {item["key"] for item in reranked.items} == set(classifier_order)
    prompt = stub.requests[0]["body"]["messages"][1]["content"]
    assert "[card]" in prompt and "4111" not in prompt

    stub.reply("not json")  # a broken endpoint: the classifier's order stands
    fallback = suggest()
    assert [item["key"] for item in fallback.items] == classifier_order


def test_fit_external_reranker_fits_a_temperature_on_dev_data(
    tmp_path, catalog, demo_ranker_dir, settings, stub
):
    settings.RANKER_DIR = demo_ranker_dir
    settings.EXTERNAL_RERANK_URL = stub.url
    dev = tmp_path / "dev.jsonl"
    write_jsonl(generate_conversations(20, seed=11), dev)
    # An overconfident source: always 0.97 on the classifier's own first candidate.
    stub.default = lambda keys: {
        "probabilities": {
            k: (0.97 if i == 0 else 0.03 / (len(keys) - 1)) for i, k in enumerate(keys)
        }
    }
    out = io.StringIO()
    call_command("fit_external_reranker", data=str(dev), max_examples=40, stdout=out)

    answers, temperature = out.getvalue().split(" answers")[0], out.getvalue().split("=")[-1]
    assert int(answers) == len(stub.requests) == 40
    # The tiny demo model is right far less often than 97%: the fit cools the source down.
    assert float(temperature) > 1.0


def test_a_template_newer_than_the_model_is_suggested_by_retrieval(
    agent_user, catalog, demo_ranker_dir, settings, catalog_admin_user
):
    settings.RANKER_DIR = demo_ranker_dir
    new = factories.TemplateFactory(
        key="crypto_wallet_launch", title="Crypto wallet", body="Our crypto wallet is live."
    )

    def suggest():
        conversation = factories.ConversationFactory(assigned_agent=agent_user)
        message = factories.MessageFactory(conversation=conversation, text="crypto wallet?")
        return suggestion_create(message_id=message.pk)

    settings.SUGGESTION_K = ResponseTemplate.objects.count()  # the whole list, to check it
    items = suggest().items
    probabilities = {item["key"]: item["probability"] for item in items}
    assert probabilities[new.key] > 0.0
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-3)
    settings.SUGGESTION_K = 5

    settings.SUGGEST_NEW_TEMPLATES = False
    assert new.key not in {item["key"] for item in suggest().items}
    settings.SUGGEST_NEW_TEMPLATES = True
    templates_set_active(
        templates=ResponseTemplate.objects.filter(pk=new.pk),
        is_active=False,
        user=catalog_admin_user,
    )
    assert new.key not in {item["key"] for item in suggest().items}


@pytest.mark.slow
def test_retraining_with_the_domain_adaptive_stage_reports_its_effect(
    tmp_path, catalog, demo_ranker_dir, settings
):
    from assist.lifecycle.retraining import RetrainOptions, ranker_retrain

    settings.RETRAIN_MIN_EXAMPLES = 50
    records = generate_conversations(120, seed=3)
    start = timezone.now() - dt.timedelta(days=120)
    for day, record in enumerate(records):
        record["started_at"] = (start + dt.timedelta(days=day)).isoformat()
    write_jsonl(records, tmp_path / "logs.jsonl")
    call_command("import_conversations", tmp_path / "logs.jsonl", stdout=io.StringIO())

    version = ranker_retrain(
        options=RetrainOptions(
            base_model=str(make_tiny_base(tmp_path / "base")),
            epochs=1,
            threads=1,
            domain_adapt=True,
        )
    )

    adaptation = version.metrics["domain_adapt"]
    effect = adaptation["effect"]
    assert effect["turns"] == version.metrics["test_examples"] > 0
    assert effect["new"] == pytest.approx(version.metrics["test"]["top1_all"])
    assert effect["active"] == pytest.approx(adaptation["without"]["top1_all"])
    assert effect["low"] <= effect["difference"] <= effect["high"]
    assert json.loads((model_cache.model_dir(version) / "ranker.json").read_text())
