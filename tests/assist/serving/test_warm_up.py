"""A worker warms a model version before the version ranks anything, so that the first
customer after a start or a hot swap does not wait for the backend's first-call costs."""

import pytest

import ranker
from assist.models import ModelVersion
from assist.serving import model_cache
from assist.serving.state import STATE

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_version_is_warmed_before_it_is_published_to_rankings(monkeypatch, demo_ranker_dir):
    version = ModelVersion.objects.create(name="warm", path=str(demo_ranker_dir))
    published_while_warming: list[bool] = []

    class RecordingRanker(ranker.Ranker):  # type: ignore[misc,valid-type]
        def warm_up(self, *args, **kwargs):
            published_while_warming.append(version.pk in STATE.rankers)
            super().warm_up(*args, **kwargs)

    monkeypatch.setattr(ranker, "Ranker", RecordingRanker)
    loaded = model_cache.load_ranker(version)

    assert published_while_warming == [False]
    assert STATE.rankers[version.pk] is loaded
    model_cache.load_ranker(version)  # a second call is a dictionary read: no second warm-up
    assert published_while_warming == [False]


def test_warm_up_runs_the_model_on_short_and_budget_length_inputs(demo_ranker_dir):
    model = ranker.Ranker(demo_ranker_dir)
    lengths: list[int] = []
    forward = model._forward

    def recording(ids, mask):
        lengths.append(ids.shape[1])
        return forward(ids, mask)

    model._forward = recording
    model.warm_up()

    assert len(lengths) >= 6  # every shape at least twice
    assert min(lengths) < 16
    assert max(lengths) == model.meta.max_tokens  # the longest context is cut to the budget
