"""Model versions as artifacts any host can load (assist/lifecycle/artifacts.py): published once
with a checksum, fetched into a host's cache, verified, and refused (recorded, logged) when the
bytes are not the ones published, while the worker keeps ranking with the version it has.
Registration and retraining run once per deployment (database locks)."""

import hashlib
import logging
import shutil
import subprocess
import sys
import threading
import time

import pytest
from django.core.files.base import ContentFile

from assist.lifecycle.artifacts import artifact_storage
from assist.lifecycle.locks import deployment_lock
from assist.lifecycle.registry import model_version_activate, model_version_register
from assist.lifecycle.retraining import NotEnoughData, RetrainRunning, ranker_retrain
from assist.models import ModelVersion
from assist.serving import model_cache
from assist.serving.state import STATE
from tests.live import ROOT, live_env


def stored_bytes(version: ModelVersion) -> bytes:
    with artifact_storage().open(version.artifact, "rb") as archive:
        return archive.read()


def replace_artifact(version: ModelVersion, content: bytes) -> None:
    storage = artifact_storage()
    storage.delete(version.artifact)
    assert storage.save(version.artifact, ContentFile(content)) == version.artifact


@pytest.fixture(autouse=True)
def shared_storage(tmp_path, settings):
    """The deployment's shared storage, empty for each test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "models": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "artifacts")},
        },
    }


@pytest.fixture
def host_cache(tmp_path, settings):
    """This test's host: an empty model cache of its own."""
    settings.MODEL_CACHE_DIR = tmp_path / "cache"
    return settings.MODEL_CACHE_DIR


@pytest.fixture
def trained(tmp_path, demo_ranker_dir):
    """A copy of the demo model that the test may delete, as if on another host."""
    return shutil.copytree(demo_ranker_dir, tmp_path / "trained")


def wait_until_loaded(version_pk: int) -> None:
    deadline = time.monotonic() + 60
    while version_pk in STATE.loading:
        assert time.monotonic() < deadline, "the background load never finished"
        time.sleep(0.05)


@pytest.mark.django_db
def test_a_registered_version_is_fetched_verified_and_served_without_its_training_folder(
    trained, host_cache
):
    version = model_version_register(name="v1", path=trained)
    assert version.sha256 == hashlib.sha256(stored_bytes(version)).hexdigest()
    assert not version.path
    model_version_activate(version=version)
    shutil.rmtree(trained)  # the training host's folder is nowhere a worker could read it

    serving, ranker = model_cache.serving_ranker()

    assert serving == version
    assert ranker.model_dir.resolve() == (host_cache / version.sha256).resolve()
    assert ranker.rank([ranker.build_context([("customer", "I lost my card")])], k=3)[0]
    # Unpacked beside the target and renamed: nothing half-written is left in the cache.
    assert sorted(p.name for p in host_cache.iterdir()) == [version.sha256]


@pytest.mark.django_db
def test_registering_the_same_model_again_returns_the_version_and_another_is_refused(
    trained, demo_ranker_dir, tmp_path
):
    first = model_version_register(name="v1", path=trained)
    assert model_version_register(name="v1", path=trained) == first
    other = shutil.copytree(demo_ranker_dir, tmp_path / "other")
    (other / "ranker.json").write_text((other / "ranker.json").read_text() + "\n")
    with pytest.raises(ValueError, match="registered for another model"):
        model_version_register(name="v1", path=other)
    assert ModelVersion.objects.count() == 1
    # The refused copies left no archive behind.
    assert artifact_storage().listdir("")[1] == [first.artifact]


@pytest.mark.django_db
def test_a_version_from_before_artifacts_loads_from_its_path(demo_ranker_dir, host_cache):
    legacy = ModelVersion.objects.create(name="old", path=str(demo_ranker_dir))
    model_version_activate(version=legacy)

    serving, ranker = model_cache.serving_ranker()

    assert serving == legacy and ranker.model_dir.resolve() == demo_ranker_dir.resolve()
    assert not host_cache.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_corrupt_artifact_is_refused_recorded_and_ranking_stays_on_the_version_it_has(
    trained, host_cache, caplog
):
    old = model_version_activate(version=model_version_register(name="old", path=trained))
    assert model_cache.serving_ranker()[0] == old
    (trained / "notes.txt").write_text("a different model")
    new = model_version_register(name="new", path=trained)
    good = stored_bytes(new)
    # Damaged in storage: 64 bytes in the middle of the weights flipped.
    middle = len(good) // 2
    flipped = bytes(byte ^ 0xFF for byte in good[middle : middle + 64])
    replace_artifact(new, good[:middle] + flipped + good[middle + 64 :])
    model_version_activate(version=new)

    with caplog.at_level(logging.ERROR, logger="assist.serving.model_cache"):
        assert model_cache.serving_ranker()[0] == old  # loads the new one in the background
        wait_until_loaded(new.pk)
        assert model_cache.serving_ranker()[0] == old  # ... which failed: the old one ranks

    new.refresh_from_db()
    (error,) = new.artifact_errors.values()
    assert "fails its checksum" in error["error"]
    assert f"model version new cannot be loaded on {model_cache.HOST}" in caplog.text
    assert not (host_cache / new.sha256).exists()
    assert sorted(p.name for p in host_cache.iterdir()) == [old.sha256]

    # Repaired in storage: the next try (MODEL_FETCH_RETRY_S later; now, here) fetches it,
    # the worker switches, and the error goes.
    replace_artifact(new, good)
    STATE.unavailable.clear()
    deadline = time.monotonic() + 60
    while model_cache.serving_ranker()[0] != new:
        assert time.monotonic() < deadline, "the repaired version never took over"
        time.sleep(0.05)
    new.refresh_from_db()
    assert new.artifact_errors == {}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_with_no_version_of_its_own_reports_no_model_when_the_artifact_is_missing(
    trained, host_cache
):
    version = model_version_activate(version=model_version_register(name="v1", path=trained))
    artifact_storage().delete(version.artifact)

    with pytest.raises(model_cache.NoModel, match="cannot fetch"):
        model_cache.serving_ranker()
    # Not fetched again on every ranking: the next try waits MODEL_FETCH_RETRY_S.
    with pytest.raises(model_cache.NoModel, match="next try in"):
        model_cache.serving_ranker()
    version.refresh_from_db()
    assert "cannot fetch" in version.artifact_errors[model_cache.HOST]["error"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_hosts_ensure_the_model_at_once_and_one_version_is_registered(
    demo_ranker_dir, tmp_path
):
    env = live_env(
        redis_url="",
        ranker_dir=demo_ranker_dir,
        MODEL_ARTIFACTS_ROOT=str(tmp_path / "artifacts"),
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "ensure_model"],
            cwd=ROOT,
            env={**env, "MODEL_CACHE_DIR": str(tmp_path / f"cache-{n}")},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in range(2)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    assert sum("registered" in output for output in outputs) == 1, outputs
    assert sum("the active model version serves" in output for output in outputs) == 1, outputs
    (version,) = ModelVersion.objects.all()
    assert version.is_active and version.artifact
    assert len(list((tmp_path / "artifacts").iterdir())) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_second_retraining_does_not_start_while_one_runs(caplog):
    running, release = threading.Event(), threading.Event()

    def another_process_retrains() -> None:
        # Another thread has its own database connection: to the lock, another process.
        from django.db import connection

        with deployment_lock("retrain", wait=False) as held:
            assert held
            running.set()
            release.wait(30)
        connection.close()

    thread = threading.Thread(target=another_process_retrains)
    thread.start()
    assert running.wait(30)
    try:
        with (
            caplog.at_level(logging.WARNING, logger="assist.lifecycle.retraining"),
            pytest.raises(RetrainRunning),
        ):
            ranker_retrain()
        assert "retraining not started: another retraining is running" in caplog.text
        assert not ModelVersion.objects.exists()
    finally:
        release.set()
        thread.join()
    # Released with its holder: the next one starts (and finds no data to train on here).
    with pytest.raises(NotEnoughData):
        ranker_retrain()
