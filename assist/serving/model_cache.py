"""The ranker as the service sees it: which model version serves, loaded once per process.

The active ModelVersion decides; with none, a model in `RANKER_DIR` is registered as the first
version (`manage.py ensure_model` registers the default model as an artifact before that can
happen in a deployment). A version is an artifact in shared storage: the process fetches it into
this host's cache, checks its checksum and loads it (assist/lifecycle/artifacts.py); a version
registered before artifacts loads from its local path. A version that cannot be fetched is
logged, recorded on its row for the registry, and tried again after MODEL_FETCH_RETRY_S, while
the process ranks with the version it has. `ranker` is imported lazily so that web processes
that never rank never load torch.
"""

import logging
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.utils import timezone

from assist.lifecycle.artifacts import ArtifactUnavailable, artifact_fetch
from assist.models import ModelVersion
from assist.serving.state import STATE

if TYPE_CHECKING:
    from ranker import Ranker

logger = logging.getLogger(__name__)


class NoModel(RuntimeError):
    """No trained ranker is available; suggestions are unavailable, search still works."""


class ModelUnavailable(NoModel):
    """The version's artifact cannot be fetched or fails its checksum, and this process has no
    other version to rank with."""


# The unit that has a model cache: the registry shows fetch errors per host.
HOST = socket.gethostname()
ARTIFACT_FIELDS = ["path", "artifact", "sha256", "artifact_errors"]


def model_dir(version: ModelVersion) -> Path:
    """The local model directory of `version`: its artifact, fetched into this host's cache and
    verified if it is not there yet, or the path of a version from before artifacts.

    Raises ModelUnavailable, after logging it and recording it on the version's row.
    """
    if version.get_deferred_fields() & set(ARTIFACT_FIELDS):
        # An experiment arm's version is built from the ranking's own query (assist/live/sql.py),
        # which reads only its name and path: read the rest once, at the first load.
        version.refresh_from_db(fields=ARTIFACT_FIELDS)
    if not version.artifact:
        return Path(version.path)
    retry_at = STATE.unavailable.get(version.pk, 0.0)
    if time.monotonic() < retry_at:
        raise ModelUnavailable(
            f"model version {version.name} is unavailable on {HOST}; next try in "
            f"{retry_at - time.monotonic():.0f} s"
        )
    try:
        folder = artifact_fetch(
            name=version.artifact,
            sha256=version.sha256,
            cache_dir=Path(settings.MODEL_CACHE_DIR),
        )
    except ArtifactUnavailable as error:
        _artifact_error_record(version, str(error))
        raise ModelUnavailable(f"model version {version.name}: {error}") from error
    with STATE.lock:
        STATE.unavailable.pop(version.pk, None)
    if HOST in version.artifact_errors:
        _artifact_error_record(version, None)
    return folder


def _artifact_error_record(version: ModelVersion, error: str | None) -> None:
    """Note on the version's row that this host cannot load it (`error`), or now can (None)."""
    if error is not None:
        logger.error("model version %s cannot be loaded on %s: %s", version.name, HOST, error)
        with STATE.lock:
            STATE.unavailable[version.pk] = time.monotonic() + settings.MODEL_FETCH_RETRY_S
    try:
        with transaction.atomic():
            # Locked: hosts record their errors on one JSON field and must not overwrite
            # each other's.
            row = (
                ModelVersion.objects.select_for_update().only("artifact_errors").get(pk=version.pk)
            )
            if error is None:
                row.artifact_errors.pop(HOST, None)
            else:
                row.artifact_errors[HOST] = {"at": timezone.now().isoformat(), "error": error}
            row.save(update_fields=["artifact_errors"])
    except (DatabaseError, ModelVersion.DoesNotExist):
        logger.warning("could not record the artifact status of %s", version.name, exc_info=True)
        return
    version.artifact_errors = row.artifact_errors


def active_model_version() -> ModelVersion:
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is not None:
        return version
    default = Path(settings.RANKER_DIR)
    if not (default / "ranker.json").is_file():
        raise NoModel(f"no active model version and no model in {default}")
    try:
        with transaction.atomic():
            return ModelVersion.objects.create(
                name=f"default-{default.stat().st_mtime_ns}",
                path=str(default),
                is_active=True,
                activated_at=timezone.now(),
            )
    except IntegrityError:
        # Another process registered it first.
        return ModelVersion.objects.get(is_active=True)


def load_ranker(version: ModelVersion) -> "Ranker":
    """The ranker of `version`, loaded now if this process has not loaded it yet.

    A loaded version is a dictionary read: no lock that a load holds, so rankings go on at full
    speed while another version loads in the background.
    """
    ranker = STATE.rankers.get(version.pk)
    if ranker is not None:
        return ranker
    from ranker import Ranker

    with STATE.load_lock:
        ranker = STATE.rankers.get(version.pk)  # loaded by another thread while this one waited
        if ranker is None:
            # Not Ranker.load: its process-wide cache would keep every version ever loaded.
            ranker = Ranker(
                str(model_dir(version)),
                backend=settings.RANKER_BACKEND,
                threads=settings.RANKER_THREADS,
            )
            # Warm before publishing: neither the first customer after a worker starts nor
            # the first after a hot swap waits for the backend's one-off first-call costs.
            ranker.warm_up()
            with STATE.lock:
                STATE.rankers[version.pk] = ranker
        return ranker


def release_unused(*, keep: set[int]) -> None:
    """Forget the loaded versions outside `keep` and those loading, so their memory goes.

    A worker keeps at most the active version, the versions of active experiments' arms and
    the one loading: each promotion would otherwise add a model to every worker's memory.
    """
    with STATE.lock:
        for pk in set(STATE.rankers) - keep - STATE.loading:
            del STATE.rankers[pk]
            logger.info("model version %s released", pk)


def _resident_versions(active_pk: int) -> set[int]:
    from assist.models import ExperimentArm

    arms = ExperimentArm.objects.filter(
        experiment__is_active=True, model_version__isnull=False
    ).values_list("model_version_id", flat=True)
    return {active_pk, *(pk for pk in arms if pk is not None)}


def _load_in_background(version: ModelVersion) -> None:
    def load() -> None:
        try:
            load_ranker(version)
            logger.info("model version %s loaded", version.name)
        except ModelUnavailable:
            pass  # logged and recorded where it happened; the process keeps its version
        except Exception:
            logger.exception("could not load model version %s", version.name)
        finally:
            with STATE.lock:
                STATE.loading.discard(version.pk)
            # This thread's own database connection (the artifact's status), not left open.
            connections.close_all()

    with STATE.lock:
        if version.pk in STATE.loading or time.monotonic() < STATE.unavailable.get(version.pk, 0):
            return
        STATE.loading.add(version.pk)
    threading.Thread(target=load, name=f"load-{version.pk}", daemon=True).start()


def serving_ranker(
    version: ModelVersion | None = None, *, active_pk: int | None = None
) -> tuple[ModelVersion, "Ranker"]:
    """The version that should rank now and its ranker: hot swap without a pause.

    `version` is an experiment arm's; by default the active one. When the active version
    changes, the process keeps ranking with the version it already has while the new one loads
    in a background thread, then switches; a ranking is never failed or held up by a swap, and
    the version returned is the one that really ranked (stored on the Suggestion).
    `active_pk`, the active version's key as the caller just read it (in a statement it made
    anyway), spares the query when this process already serves that version.
    """
    if version is not None:
        return version, load_ranker(version)
    previous = STATE.serving
    if active_pk is not None and previous is not None and previous.pk == active_pk:
        return previous, load_ranker(previous)
    wanted = active_model_version()
    if (
        wanted.pk in STATE.rankers
        or previous is None
        or previous.pk == wanted.pk
        # A version deleted meanwhile cannot be recorded on a Suggestion: wait for the new one.
        or not ModelVersion.objects.filter(pk=previous.pk).exists()
    ):
        ranker = load_ranker(wanted)
        if previous is not None and previous.pk != wanted.pk:
            release_unused(keep=_resident_versions(wanted.pk))
        STATE.serving = wanted
        return wanted, ranker
    _load_in_background(wanted)
    return previous, load_ranker(previous)
