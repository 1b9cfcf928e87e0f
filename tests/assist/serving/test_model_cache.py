"""Which model versions a process keeps, and that a load in the background never holds up a
ranking with the version already loaded."""

import shutil
import threading

import pytest

import ranker
from assist.lifecycle.registry import model_version_activate
from assist.models import Experiment, ExperimentArm, ModelVersion
from assist.serving import model_cache
from assist.serving.state import STATE

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def version(path, name: str) -> ModelVersion:
    return ModelVersion.objects.create(name=name, path=str(path))


@pytest.fixture
def held_load(monkeypatch):
    """Loads of directories named `held-*` wait for `release.set()`; the rest load at once."""
    release = threading.Event()
    real = ranker.Ranker

    class HeldRanker(real):  # type: ignore[misc,valid-type]
        def __init__(self, model_dir, *args, **kwargs):
            if str(model_dir).rsplit("/", 1)[-1].startswith("held-"):
                assert release.wait(60), "the test never released the load"
            super().__init__(model_dir, *args, **kwargs)

    monkeypatch.setattr(ranker, "Ranker", HeldRanker)
    yield release
    release.set()


def test_a_ranking_never_waits_for_a_version_loading_in_the_background(
    tmp_path, demo_ranker_dir, held_load
):
    old = model_version_activate(version=version(demo_ranker_dir, "old"))
    assert model_cache.serving_ranker()[0] == old
    new_dir = tmp_path / "held-new"
    shutil.copytree(demo_ranker_dir, new_dir)
    new = model_version_activate(version=version(new_dir, "new"))

    served: list[ModelVersion] = []

    def rank_twice() -> None:
        # The first call starts the new version's load; the second comes while it is held.
        served.extend(model_cache.serving_ranker()[0] for _ in range(2))

    ranking = threading.Thread(target=rank_twice, daemon=True)
    ranking.start()
    ranking.join(20)
    assert not ranking.is_alive(), "a ranking waited for the load of another version"
    assert served == [old, old]
    assert new.pk in STATE.loading

    held_load.set()
    for _ in range(600):
        if not STATE.loading:
            break
        threading.Event().wait(0.05)
    assert model_cache.serving_ranker()[0] == new


def test_a_swap_releases_versions_nothing_uses_but_keeps_experiment_arms(tmp_path, demo_ranker_dir):
    dirs = []
    for name in ("one", "two", "three"):
        shutil.copytree(demo_ranker_dir, tmp_path / name)
        dirs.append(tmp_path / name)
    one, two, three = (version(path, path.name) for path in dirs)
    experiment = Experiment.objects.create(name="arm keeps two", is_active=True)
    ExperimentArm.objects.create(experiment=experiment, name="two", model_version=two, weight=1)
    model_version_activate(version=one)
    model_cache.serving_ranker()
    model_cache.load_ranker(two)  # an arm's version, as a ranking in that arm loads it

    model_version_activate(version=three)
    model_cache.load_ranker(three)  # loaded: the next ranking switches at once
    assert model_cache.serving_ranker()[0] == three

    assert set(STATE.rankers) == {two.pk, three.pk}  # "one" released, the arm's kept
