"""`manage.py replay`: generated demo conversations through the live services (rankings
in-process, the embedded mode) as a simulated agent, into a control arm and two model arms.

Transactional: the rankings run when the customer's message commits, as they do live.
"""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from assist.demo.generator import generate_conversations, write_jsonl
from assist.lifecycle.registry import model_version_register
from assist.models import Conversation, Experiment, Message, Pick, Suggestion
from tests.tiny_models import DEMO_CATALOG

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CONVERSATIONS = 12
# The arms are assigned by a hash of the experiment's name and the conversation's external id:
# with this name the 12 conversations fall 4, 4 and 4 (a test of the harness, not of the hash).
EXPERIMENT = "exp"


@pytest.fixture
def replay_setup(demo_ranker_dir, tmp_path):
    call_command("import_catalog", DEMO_CATALOG, verbosity=0)
    # One trained directory as two versions: the arms, not the models, are under test here.
    for name in ("tiny-a", "tiny-b"):
        model_version_register(name=name, path=demo_ranker_dir)
    conversations = generate_conversations(CONVERSATIONS, seed=7)
    path = tmp_path / "held_out.jsonl"
    write_jsonl(conversations, path)
    return path, conversations


def _replay(path, *extra):
    out = io.StringIO()
    call_command(
        "replay",
        str(path),
        "--models",
        "tiny-a,tiny-b",
        "--experiment",
        EXPERIMENT,
        *extra,
        stdout=out,
    )
    return out.getvalue()


def _stored():
    return (
        Conversation.objects.count(),
        Message.objects.count(),
        Suggestion.objects.count(),
        Pick.objects.count(),
    )


def test_replay_fills_three_arms_and_a_second_run_adds_nothing(replay_setup):
    path, conversations = replay_setup
    output = _replay(path)

    experiment = Experiment.objects.get(name=EXPERIMENT)
    assert not experiment.is_active  # active only while the replay runs
    arms = {arm.name: arm for arm in experiment.arms.all()}
    assert sorted(arms) == ["control", "tiny-a", "tiny-b"]
    assert arms["control"].is_control
    per_arm = dict(Conversation.objects.values_list("experiment_arm__name").annotate(n=Count("pk")))
    assert sum(per_arm.values()) == CONVERSATIONS
    assert per_arm == {"control": 4, "tiny-a": 4, "tiny-b": 4}

    templated = sum(
        1 for c in conversations for t in c["turns"] if t["role"] == "agent" and t["template"]
    )
    turns = sum(len(c["turns"]) for c in conversations)
    assert Message.objects.count() == turns
    replies = Message.objects.filter(template__isnull=False)
    assert replies.count() == templated == Pick.objects.count()
    # A selection time runs from a customer message: only an opening greeting has none.
    openings = 0
    for c in conversations:
        for turn in c["turns"]:
            if turn["role"] == "customer":
                break
            openings += bool(turn["template"])
    assert replies.filter(selection_ms__isnull=True).count() == openings < templated
    # The control arm is never ranked; every customer message of a model arm is.
    assert not Suggestion.objects.filter(conversation__experiment_arm=arms["control"]).exists()
    model_customer = Message.objects.filter(
        role="customer", conversation__experiment_arm__model_version__isnull=False
    )
    assert Suggestion.objects.filter(message__in=model_customer).count() == model_customer.count()
    # A reply whose template was on the list is a pick from that list, at its rank; one that
    # was not is a search pick. The reply records the same rank.
    from_list = Pick.objects.filter(suggestion__isnull=False)
    assert from_list.exists(), "the tiny model should put some demo templates on its lists"
    for pick in from_list.select_related("suggestion"):
        assert pick.suggestion.items[pick.rank - 1]["key"] == pick.template.key
        reply = replies.get(conversation=pick.conversation, client_id=pick.client_id)
        assert (reply.template_id, reply.shown_rank) == (pick.template_id, pick.rank)
        assert reply.selection_ms == pick.time_to_pick_ms
    assert not replies.filter(
        conversation__experiment_arm=arms["control"], shown_suggestion__isnull=False
    ).exists()

    # The printed report: an interval per arm and the comparisons, model against model too.
    figures = json.loads(output.strip().splitlines()[-1])
    assert sorted(figures["arms"]) == ["control", "tiny-a", "tiny-b"]
    low, estimate, high = sorted(figures["arms"]["control"]["selection_s"])
    assert figures["arms"]["control"]["selection_s"][0] == estimate and low <= high
    assert ("Mean selection time", "tiny-b", "tiny-a") in {
        (c["metric"], c["arm"], c["reference"]) for c in figures["comparisons"]
    }

    # The same experiment and seed again: every conversation is complete, nothing is stored.
    before = _stored()
    again = _replay(path)
    assert _stored() == before
    assert f"replayed 0 conversations ({CONVERSATIONS} complete already)" in again
    # Another seed is another set of conversations in the same experiment, not a mix.
    _replay(path, "--seed", "14", "--limit", "3")
    assert Conversation.objects.count() == CONVERSATIONS + 3


def test_a_template_missing_from_the_catalog_stores_nothing(replay_setup, tmp_path):
    _, conversations = replay_setup
    conversations[0]["turns"][1] = {"role": "agent", "text": "hi", "template": "no.such"}
    path = tmp_path / "bad.jsonl"
    write_jsonl(conversations, path)
    with pytest.raises(CommandError, match=r"not active in the catalog: no\.such"):
        _replay(path)
    assert _stored() == (0, 0, 0, 0)
    assert not Experiment.objects.exists()
