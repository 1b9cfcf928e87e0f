"""An honest comparison: the new and the active model on test turns that neither model's fitting
saw, a paired interval over conversations, and promotion only on a significant gain."""

import datetime as dt
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from assist.demo.generator import generate_conversations, write_jsonl
from assist.lifecycle import retraining
from assist.lifecycle.comparison import TurnHits, paired_comparison
from assist.lifecycle.registry import model_version_activate
from assist.lifecycle.retraining import RetrainOptions, promotion_due, ranker_retrain
from assist.models import Conversation, ModelVersion
from tests.tiny_models import DEMO_CATALOG


def hits(per_conversation: list[list[int]], top1: bool = True) -> TurnHits:
    turns = [(f"c{c}", t) for c, values in enumerate(per_conversation) for t in range(len(values))]
    flat = np.array([v for values in per_conversation for v in values], dtype=bool)
    return TurnHits(turns, flat, flat)


def test_the_same_model_twice_differs_by_nothing():
    same = hits([[1, 0, 1], [0, 0], [1, 1, 1, 0]] * 10)
    comparison = paired_comparison(same, same)
    assert comparison.difference == 0.0
    assert (comparison.low, comparison.high) == (0.0, 0.0)
    assert not comparison.significant
    assert not promotion_due(comparison, 0.0)


def test_a_consistent_gain_is_significant_a_small_noisy_one_is_not():
    rng = np.random.default_rng(3)
    active = [list(rng.integers(0, 2, 5)) for _ in range(200)]
    better = [[1] * 5 if c % 2 else values for c, values in enumerate(active)]
    gain = paired_comparison(hits(better), hits(active))
    assert gain.difference > 0.2 and gain.low > 0 and gain.significant
    assert gain.conversations == 200 and gain.turns == 1000
    assert promotion_due(gain, 0.01)
    assert not promotion_due(gain, 0.5)  # significant, but below the margin

    # One conversation of 40 turns flips: a positive difference, carried by one conversation.
    noisy = [list(values) for values in active[:20]] + [[0] * 40]
    flipped = [list(values) for values in active[:20]] + [[1] * 40]
    lucky = paired_comparison(hits(flipped), hits(noisy))
    assert lucky.difference > 0.1 and lucky.low <= 0  # turn by turn it would look conclusive
    assert not lucky.significant and not promotion_due(lucky, 0.01)


def test_models_measured_on_different_turns_are_refused():
    with pytest.raises(ValueError, match="same turns"):
        paired_comparison(hits([[1, 0]]), hits([[1, 0, 1]]))


def test_no_active_version_promotes_only_with_a_margin():
    assert promotion_due(None, 0.01) and not promotion_due(None, None)


def ids_in(path: str) -> set[str]:
    return {json.loads(line)["id"] for line in Path(path).read_text().splitlines()}


@pytest.mark.django_db
def test_test_split_conversations_never_reach_fitting(
    tmp_path, demo_ranker_dir, settings, monkeypatch
):
    """What `ranker.train.train` is given (its training and dev files) never contains a
    conversation of the test split, the newest dated conversations, on which both models are
    compared; undated imports are trained on, never compared on."""
    call_command("import_catalog", DEMO_CATALOG, stdout=io.StringIO())
    settings.RETRAIN_MIN_EXAMPLES = 20
    records = generate_conversations(60, seed=11)
    start = timezone.now() - dt.timedelta(days=60)
    for index, record in enumerate(records[:50]):
        # Dated out of file order, so that file order and time order disagree.
        record["started_at"] = (start + dt.timedelta(hours=(index * 37) % 50)).isoformat()
    write_jsonl(records, tmp_path / "logs.jsonl")
    call_command("import_conversations", tmp_path / "logs.jsonl", stdout=io.StringIO())
    active = model_version_activate(
        version=ModelVersion.objects.create(name="active", path=str(demo_ranker_dir))
    )

    fitted: dict[str, set[str]] = {}

    def train_recording(config):
        # Stands in for the trainer: records what fitting sees, and "trains" a copy of the
        # active model (so both models rank the test turns identically).
        fitted["train"], fitted["dev"] = ids_in(config.data), ids_in(config.dev)
        shutil.copytree(demo_ranker_dir, config.out)

    monkeypatch.setattr("ranker.train.train", train_recording)
    version = ranker_retrain(options=RetrainOptions(promote_margin=0.0))

    dated = Conversation.objects.filter(started_at_known=True).order_by("-started_at", "-id")
    newest = [str(pk) for pk in dated.values_list("pk", flat=True)[:5]]  # 10% of 50
    undated = {
        str(pk)
        for pk in Conversation.objects.filter(started_at_known=False).values_list("pk", flat=True)
    }
    split = version.metrics["split"]
    assert split["conversations"] == {"train": 50, "dev": 5, "test": 5}
    assert split["undated_in_train"] == 10 and undated <= fitted["train"]
    tested = set(newest)
    assert not tested & (fitted["train"] | fitted["dev"])
    comparison = version.metrics["comparison"]
    assert comparison["conversations"] == len(tested)
    assert (
        comparison["turns"] == version.metrics["test"]["n_all"] == version.metrics["test_examples"]
    )
    assert 0 < comparison["turns"] <= split["templated_turns"]["test"]  # openers have no context
    assert comparison["new"] == pytest.approx(version.metrics["test"]["top1_all"])
    # The same model on the same turns: no difference, so no promotion even at a zero margin.
    assert comparison["difference"] == 0.0 and not comparison["significant"]
    assert ModelVersion.objects.get(is_active=True) == active


@pytest.mark.django_db
def test_retraining_needs_dated_conversations_to_compare_on(tmp_path, settings, monkeypatch):
    call_command("import_catalog", DEMO_CATALOG, stdout=io.StringIO())
    settings.RETRAIN_MIN_EXAMPLES = 20
    write_jsonl(generate_conversations(40, seed=2), tmp_path / "undated.jsonl")
    out = io.StringIO()
    call_command("import_conversations", tmp_path / "undated.jsonl", stdout=out)
    assert "40 conversations have no 'started_at'" in out.getvalue()
    monkeypatch.setattr("ranker.train.train", lambda config: pytest.fail("trained anyway"))
    with pytest.raises(retraining.NotEnoughData, match="to compare on"):
        ranker_retrain()


@pytest.mark.django_db
@pytest.mark.parametrize("adapt", [True, False])
def test_retraining_runs_the_domain_adaptive_stage_and_reports_its_effect(
    tmp_path, demo_ranker_dir, settings, monkeypatch, adapt
):
    call_command("import_catalog", DEMO_CATALOG, stdout=io.StringIO())
    settings.RETRAIN_MIN_EXAMPLES = 20
    settings.RETRAIN_DOMAIN_ADAPT = adapt
    records = generate_conversations(40, seed=5)
    start = timezone.now() - dt.timedelta(days=40)
    for day, record in enumerate(records):
        record["started_at"] = (start + dt.timedelta(days=day)).isoformat()
    write_jsonl(records, tmp_path / "logs.jsonl")
    call_command("import_conversations", tmp_path / "logs.jsonl", stdout=io.StringIO())
    runs = []

    def train_recording(config):
        runs.append((config.domain_adapt, Path(config.out).name, ids_in(config.data)))
        shutil.copytree(demo_ranker_dir, config.out)

    monkeypatch.setattr("ranker.train.train", train_recording)
    out = io.StringIO()
    call_command("train_ranker", stdout=out)
    version = ModelVersion.objects.get()

    if adapt:
        # The registered model is the adapted one; the same recipe without the stage, on the
        # same training data, is the yardstick on the test split.
        assert [(a, name) for a, name, _ in runs] == [(True, "model"), (False, "without")]
        assert runs[0][2] == runs[1][2]
        effect = version.metrics["domain_adapt"]["effect"]
        assert effect["turns"] == version.metrics["test_examples"]
        assert effect["difference"] == 0.0  # the stand-in trainer made the same model twice
        assert "domain-adaptive stage: top-1 +0.0000" in out.getvalue()
    else:
        assert [(a, name) for a, name, _ in runs] == [(False, "model")]
        assert version.metrics["domain_adapt"] is None
        assert "domain-adaptive" not in out.getvalue()
