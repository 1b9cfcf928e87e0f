"""Experiments: sticky hash assignment, a silent control arm, per-arm model versions, and
the experiment page's tests agreeing with scipy on the same numbers."""

import io
from collections import Counter

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse
from scipy import stats as sp

from assist.live import selectors
from assist.live.messages import conversation_open
from assist.models import Conversation, Experiment, ExperimentArm, ModelVersion, Suggestion
from assist.review import experiments, metrics
from assist.review.reports import MIN_CONVERSATIONS, ArmOutcomes, compare_arms, experiment_report
from tests import factories
from tests.assist.api.test_api_live import DEMO_CATALOG, token_client
from tests.conftest import client_for


def make_experiment(*arms: tuple[str, ModelVersion | None, int], active=True) -> Experiment:
    experiment = Experiment.objects.create(name="exp-1", is_active=active)
    for name, version, weight in arms:
        ExperimentArm.objects.create(
            experiment=experiment, name=name, model_version=version, weight=weight
        )
    return experiment


def test_assignment_is_stable_and_follows_the_weights(db):
    v1, v2 = factories.ModelVersionFactory(), factories.ModelVersionFactory()
    experiment = make_experiment(("control", None, 2), ("v1", v1, 49), ("v2", v2, 49))
    arms = list(experiment.arms.all())
    ids = [f"ticket-{n}" for n in range(20_000)]
    first = [experiments.arm_for(arms, salt="s", channel="chat", external_id=i).name for i in ids]
    again = [
        experiments.arm_for(arms[::-1], salt="s", channel="chat", external_id=i).name for i in ids
    ]
    assert first == again
    shares = Counter(first)
    assert 0.015 < shares["control"] / len(ids) < 0.025
    assert 0.47 < shares["v1"] / len(ids) < 0.51
    reshuffled = [
        experiments.arm_for(arms, salt="t", channel="chat", external_id=i).name for i in ids
    ]
    assert reshuffled != first  # another salt, another split


def test_a_conversation_keeps_its_arm(agent_user):
    v1 = factories.ModelVersionFactory()
    experiment = make_experiment(("control", None, 1), ("v1", v1, 1))
    conversation, created = conversation_open(agent=agent_user, external_id="T-1")
    assert created and conversation.experiment_arm is not None
    arm = conversation.experiment_arm
    # Reweighting or stopping the experiment does not move a running conversation.
    experiment.arms.update(weight=1000)
    Experiment.objects.update(is_active=False)
    again, created = conversation_open(agent=agent_user, external_id="T-1")
    assert not created and again.experiment_arm == arm
    fresh, _ = conversation_open(agent=agent_user, external_id="T-2")
    assert fresh.experiment_arm is None  # no experiment running now


def test_the_control_arm_gets_no_suggestions_and_no_outage(
    agent_user, demo_ranker_dir, settings, django_capture_on_commit_callbacks
):
    settings.RANKER_DIR = demo_ranker_dir
    call_command("import_catalog", DEMO_CATALOG, stdout=io.StringIO())
    make_experiment(("control", None, 1))
    client = token_client(agent_user)
    opened = client.post(reverse("api-conversations"), {"external_id": "C-1"}, "application/json")
    conversation = Conversation.objects.get(pk=opened.json()["id"])
    assert conversation.experiment_arm.is_control

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("api-messages", args=[conversation.pk]),
            {"role": "customer", "text": "I lost my card, please block it", "client_id": "m"},
            "application/json",
        )
    assert response.status_code == 201
    assert callbacks == []  # nothing queued: no ranking, no "unavailable" push
    assert not Suggestion.objects.exists()
    latest = reverse("api-latest-suggestion", args=[conversation.pk])
    assert client.get(latest).status_code == 204
    state = selectors.conversation_state(conversation, assist_available=True)
    assert state["suggestions_enabled"] is False
    assert state["assist_available"] is True


def test_a_model_arm_is_ranked_by_its_own_version(
    agent_user, demo_ranker_dir, settings, django_capture_on_commit_callbacks
):
    settings.RANKER_DIR = demo_ranker_dir
    call_command("import_catalog", DEMO_CATALOG, stdout=io.StringIO())
    ModelVersion.objects.create(name="live", path=str(demo_ranker_dir), is_active=True)
    candidate = ModelVersion.objects.create(name="candidate", path=str(demo_ranker_dir))
    make_experiment(("candidate", candidate, 1))
    conversation, _ = conversation_open(agent=agent_user, external_id="M-1")
    with django_capture_on_commit_callbacks(execute=True):
        token_client(agent_user).post(
            reverse("api-messages", args=[conversation.pk]),
            {"role": "customer", "text": "my card has not arrived", "client_id": "m"},
            "application/json",
        )
    assert Suggestion.objects.get().model_version == candidate


@pytest.fixture
def finished_experiment(db):
    """Control and two model arms, with selection times drawn like the paper's 19 s vs 13 s,
    several replies per conversation (so reply-level and conversation-level figures differ)."""
    rng = np.random.default_rng(7)
    v1, v2 = factories.ModelVersionFactory(name="v1"), factories.ModelVersionFactory(name="v2")
    experiment = make_experiment(("control", None, 2), ("v1", v1, 49), ("v2", v2, 49))
    template, other = factories.TemplateFactory(), factories.TemplateFactory()
    arms = {arm.name: arm for arm in experiment.arms.all()}
    # Per arm, per conversation: (its mean selection time in s, its top-1 hit rate, lists used).
    outcomes: dict[str, list[tuple[float, float | None, float | None]]] = {}
    plan = {"control": (35, 19.0, None), "v1": (40, 13.0, 0.6), "v2": (45, 14.5, 0.4)}
    for name, (n, mean_s, hit_rate) in plan.items():
        outcomes[name] = []
        for index in range(n):
            conversation = factories.ConversationFactory(experiment_arm=arms[name])
            replies = 1 + index % 3
            times = [int(x) for x in rng.lognormal(np.log(mean_s * 1000), 0.4, replies)]
            hits, used = [], []
            for reply, selection_ms in enumerate(times):
                shown, rank = None, None
                if hit_rate is not None:
                    ask = factories.MessageFactory(conversation=conversation)
                    shown = factories.SuggestionFactory(
                        message=ask,
                        model_version=arms[name].model_version,
                        templates=[template, other],
                        used=reply == 0,
                    )
                    rank = 1 if rng.random() < hit_rate else None
                    hits.append(1.0 if rank else 0.0)
                    used.append(1.0 if reply == 0 else 0.0)
                factories.MessageFactory(
                    conversation=conversation,
                    role="agent",
                    template=template,
                    shown_suggestion=shown,
                    shown_rank=rank,
                    selection_ms=selection_ms,
                )
            outcomes[name].append(
                (
                    float(np.mean(times)) / 1000,
                    float(np.mean(hits)) if hits else None,
                    float(np.mean(used)) if used else None,
                )
            )
    return experiment, outcomes


def test_experiment_report_is_computed_over_conversations(finished_experiment):
    experiment, outcomes = finished_experiment
    report = experiment_report(experiment, metrics.Period())
    rows = {row["arm"].name: row for row in report["arms"]}
    times = {name: [o[0] for o in values] for name, values in outcomes.items()}
    hits = {name: [o[1] for o in values] for name, values in outcomes.items()}
    used = {name: [o[2] for o in values] for name, values in outcomes.items()}
    for name, values in times.items():
        assert rows[name]["conversations"] == len(values)
        low, high = sp.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=sp.sem(values))
        assert rows[name]["selection_s"].low == pytest.approx(low, rel=1e-6)
        assert rows[name]["selection_s"].high == pytest.approx(high, rel=1e-6)

    found = {(c.metric, c.arm, c.reference): c for c in report["comparisons"]}
    for arm in ("v1", "v2"):
        welch = found[("Mean selection time", arm, "control")]
        expected = sp.ttest_ind(times[arm], times["control"], equal_var=False)
        assert welch.test.p_value == pytest.approx(expected.pvalue, rel=1e-6)
        assert (welch.n_arm, welch.n_reference) == (len(times[arm]), len(times["control"]))
        rank_test = found[("Selection time", arm, "control")]
        expected = sp.mannwhitneyu(times[arm], times["control"], method="asymptotic")
        assert rank_test.test.p_value == pytest.approx(expected.pvalue, rel=1e-6)
    # Rates compare model arms with the first one; control has no suggestions to hit.
    top1 = found[("Top-1 hit rate", "v2", "v1")]
    expected = sp.ttest_ind(hits["v2"], hits["v1"], equal_var=False)
    assert top1.test.p_value == pytest.approx(expected.pvalue, rel=1e-6)
    acceptance = found[("Acceptance rate", "v2", "v1")]
    assert acceptance.difference == pytest.approx(np.mean(used["v2"]) - np.mean(used["v1"]))
    assert not any(c.arm == "control" for c in report["comparisons"] if "rate" in c.metric)

    welch_v1 = found[("Mean selection time", "v1", "control")]
    assert welch_v1.stage == "interim"  # no planned size set
    assert welch_v1.significant == (welch_v1.test.p_value < 0.05)
    assert ("not statistically significant" in welch_v1.sentence) != welch_v1.significant
    assert "Interim look" in welch_v1.sentence


def test_no_verdict_below_the_minimum_and_final_at_the_planned_size(finished_experiment):
    experiment, _ = finished_experiment
    experiment.planned_conversations_per_arm = 35
    experiment.save(update_fields=["planned_conversations_per_arm"])
    report = experiment_report(experiment, metrics.Period())
    assert not report["interim"]
    found = {(c.metric, c.arm, c.reference): c for c in report["comparisons"]}
    final = found[("Mean selection time", "v1", "control")]
    assert final.stage == "final" and "Interim" not in final.sentence
    assert final.significant  # 13 s against 19 s over 35+ conversations each

    experiment.planned_conversations_per_arm = 1000
    experiment.save(update_fields=["planned_conversations_per_arm"])
    assert experiment_report(experiment, metrics.Period())["interim"]


def test_no_verdict_below_the_minimum_however_large_the_difference():
    def arm(n: int, seconds: float) -> ArmOutcomes:
        rows = [
            {"replies": 1, "n_selection": 1, "selection_sum": seconds * 1000 + i, "with_list": 0}
            | {"lists": 0, "top1": 0, "topk": 0, "picked_lists": 0}
            for i in range(n)
        ]
        return ArmOutcomes.from_rows(rows)

    def compare(n: int) -> list:
        return compare_arms(
            arm="fast",
            outcomes=arm(n, 5.0),
            reference="slow",
            reference_outcomes=arm(n, 20.0),
            selection=True,
            rates=True,
            planned=None,
        )

    few = compare(MIN_CONVERSATIONS - 1)
    assert [c.metric for c in few] == ["Mean selection time", "Selection time"]
    for comparison in few:
        assert comparison.test.p_value < 1e-6  # the test itself would say "significant"
        assert comparison.stage == "too few" and not comparison.significant
        assert comparison.p_text == "—"
        assert f"no verdict below {MIN_CONVERSATIONS} conversations" in comparison.sentence
    enough = compare(MIN_CONVERSATIONS)
    assert all(c.stage == "interim" and c.significant for c in enough)


def test_experiment_page_shows_each_arm_and_the_verdicts(finished_experiment):
    experiment, _ = finished_experiment
    response = client_for(factories.supervisor()).get(
        reverse("review:experiment", args=[experiment.pk])
    )
    body = response.content.decode()
    assert response.status_code == 200
    for text in ("control", "v1", "v2", "Welch", "Mann-Whitney U", "over conversations"):
        assert text in body
    assert "statistically significant" in body
    assert "Interim look" in body and "No planned size is set" in body
