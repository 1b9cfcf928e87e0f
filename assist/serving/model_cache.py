"""The ranker as the service sees it: which model directory serves, loaded once per process.

The active ModelVersion decides; with none, `RANKER_DIR` (the default model that `make run`
trains) is registered as the first version. `ranker` is imported lazily so that web processes
that never rank never load torch.
"""

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from assist.models import ModelVersion
from assist.serving.state import STATE

if TYPE_CHECKING:
    from ranker import Ranker

logger = logging.getLogger(__name__)


class NoModel(RuntimeError):
    """No trained ranker is available; suggestions are unavailable, search still works."""


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
                version.path, backend=settings.RANKER_BACKEND, threads=settings.RANKER_THREADS
            )
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
        except Exception:
            logger.exception("could not load model version %s", version.name)
        finally:
            with STATE.lock:
                STATE.loading.discard(version.pk)

    with STATE.lock:
        if version.pk in STATE.loading:
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
